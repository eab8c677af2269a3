"""House rule: the CLI starts at once. `import harness.cli` (which registers every command) loads none of
the heavy libraries; a command imports them when it runs. And asyncssh's deprecation noise stays out."""

from __future__ import annotations

import json
import subprocess
import sys

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
