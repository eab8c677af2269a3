"""House rule: the CLI starts at once. `import harness.cli` (which registers every command) loads none of
the heavy libraries; a command imports them when it runs. And asyncssh's deprecation noise stays out."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import harness

HEAVY = ("pandas", "sqlalchemy", "plotly", "pyarrow", "numpy", "scipy", "onnx", "onnxruntime", "asyncssh",
         "adbutils", "pydantic", "jinja2")


def _loaded_after(code: str) -> set[str]:
    probe = f"import sys, json\n{code}\nprint(json.dumps(sorted(sys.modules)))"
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=120, check=True)
    return set(json.loads(out.stdout.splitlines()[-1]))


def test_import_cli_loads_no_heavy_library() -> None:
    loaded = _loaded_after("import harness.cli")
    assert "harness.commands.compare" in loaded and "harness.commands.run" in loaded  # every command registered
    assert not {m.split(".")[0] for m in loaded} & set(HEAVY), sorted({m.split(".")[0] for m in loaded} & set(HEAVY))


def test_help_lists_every_command_without_heavy_imports() -> None:
    code = ("import sys\nfrom harness.cli import main\nsys.argv = ['harness', '--help']\n"
            "try:\n    main()\nexcept SystemExit:\n    pass")
    loaded = _loaded_after(code)
    assert not {m.split(".")[0] for m in loaded} & {"pandas", "sqlalchemy", "plotly", "numpy"}


def test_asyncssh_deprecation_warnings_are_filtered() -> None:
    proc = subprocess.run([sys.executable, "-W", "default", "-c", "import harness.transport.ssh"],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0 and "CryptographyDeprecationWarning" not in proc.stderr, proc.stderr[-1000:]


# Loaded only by the code that uses them: scipy.stats by a test statistic (compare, history, calibrate), onnx by
# what reads or writes a model (builds/, a user model's I/O check). `harness run` on a fresh store then loads
# neither for its report (measured: scipy.stats ~1.2 s and onnx ~0.2-1.2 s CPU per process).
LAZY = ("scipy.stats", "scipy.optimize", "onnx", "ml_dtypes")


def test_no_module_outside_builds_loads_scipy_stats_or_onnx_at_import() -> None:
    root = Path(harness.__file__).parent
    mods = sorted(".".join(p.relative_to(root.parent).with_suffix("").parts).removesuffix(".__init__")
                  for p in root.rglob("*.py")
                  if p.parts[len(root.parts)] not in ("builds", "agent") and p.name != "__main__.py")
    assert "harness.session.launch" in mods and "harness.report.run_report" in mods and len(mods) > 100
    code = ("import importlib\nculprits = {}\nfor m in " + repr(mods) + ":\n"
            "    importlib.import_module(m)\n"
            "    for h in " + repr(LAZY) + ":\n"
            "        if h in sys.modules:\n"
            "            culprits.setdefault(h, m)\n"
            "print(json.dumps(culprits))")
    probe = f"import sys, json\n{code}"
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=300, check=True)
    assert json.loads(out.stdout.splitlines()[-1]) == {}  # {library: the first module that loaded it}
