"""House rules of the read side, enforced: results and analysis do not use each other (they share
``harness.records``); analysis does no I/O; renderers neither decide nor write the store; publish reads."""

from __future__ import annotations

import ast
from pathlib import Path

import harness

ROOT = Path(harness.__file__).parent


def _imports(package: str) -> dict[str, set[str]]:
    """module path -> every harness module it imports (at any depth: lazy imports count too)."""
    out: dict[str, set[str]] = {}
    for path in sorted((ROOT / package).rglob("*.py")):
        names: set[str] = set()
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom) and node.module:
                names.add(node.module)
                names |= {f"{node.module}.{a.name}" for a in node.names}
            elif isinstance(node, ast.Import):
                names |= {a.name for a in node.names}
        out[str(path.relative_to(ROOT))] = {n for n in names if n.startswith("harness")}
    return out


def _offenders(package: str, forbidden: tuple[str, ...]) -> list[str]:
    return [f"{mod} imports {name}" for mod, names in _imports(package).items() for name in sorted(names)
            if name.startswith(forbidden)]


def test_results_knows_nothing_of_analysis_views_or_reports() -> None:
    assert _offenders("results", ("harness.analysis", "harness.views", "harness.report")) == []


def test_analysis_does_not_read_the_store_or_touch_files() -> None:
    assert _offenders("analysis", ("harness.results", "harness.views", "harness.report", "harness.session")) == []
    for path in (ROOT / "analysis").rglob("*.py"):
        text = path.read_text(encoding="utf-8")
        for io in ("open(", "read_text(", "write_text(", "sqlalchemy", "Store("):
            assert io not in text, f"{path.name} does I/O ({io})"


def test_renderers_never_write_the_store_nor_decide() -> None:
    writers = ("harness.results.analysis_tables.save", "harness.views.history.sync_alerts",
               "harness.analysis.compare.compare", "harness.analysis.changepoints", "harness.analysis.alerts.detect")
    assert _offenders("report", writers) == []
    publish = (ROOT / "report" / "site" / "publish.py").read_text(encoding="utf-8")
    assert "sync_alerts" not in publish and "save_" not in publish


def test_one_home_for_robust_sigma_and_noise_as_percent() -> None:
    """MAD scaling and expm1-to-percent live in analysis/noise.py only."""
    for path in ROOT.rglob("*.py"):
        if path.name == "noise.py" and path.parent.name == "analysis":
            continue
        text = path.read_text(encoding="utf-8")
        assert "1.4826" not in text and "median_abs_deviation" not in text, path
        assert "100 * math.expm1" not in text and "100.0 * math.expm1" not in text, path
