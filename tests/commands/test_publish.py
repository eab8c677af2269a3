"""`harness publish` through the CLI: the site lands where asked, run pages are reused next time."""

from __future__ import annotations

from sqlalchemy import text

from harness.results.store import Store
from tests.analysis.synthetic import CellSpec, record_history
from tests.commands.test_compare import harness


def _tables(store: Store) -> dict[str, list[tuple]]:
    with store.engine.connect() as conn:
        names = [r[0] for r in conn.execute(text("SELECT name FROM sqlite_master WHERE type='table'"))]
        return {n: sorted(map(tuple, conn.execute(text(f'SELECT * FROM "{n}"')).all()), key=repr) for n in names}


def test_publish_writes_the_site(tmp_path, monkeypatch, capsys) -> None:
    s = Store(tmp_path / "p.db")
    record_history(s, 8, cells=(CellSpec(), CellSpec(workload="canary")), levels={("pixel", "resnet"): {4: 1.2}},
                   n=20)
    out = tmp_path / "site"
    assert harness(monkeypatch, "history", "--store", s.url, "--canary", "canary") == 0  # detection writes alerts
    before = _tables(s)
    assert harness(monkeypatch, "publish", "--out", out, "--store", s.url, "--run-pages", "2",
                   "--compare", "night-000..night-007") == 0
    assert _tables(s) == before  # publishing renders; it never writes the store
    assert "wrote" in capsys.readouterr().out
    for rel in ("index.html", "regressions.html", "regressions.json", "feed.xml", "devices.html", "runs.html",
                "compare/pixel.html", "series/index.html", "runs/night-007/index.html", "plotly.min.js"):
        assert (out / rel).is_file(), rel
    assert "INCONCLUSIVE" in (out / "compare" / "ab-night-000--night-007.html").read_text()  # one run each
    assert "night-004" in (out / "regressions.html").read_text()
    assert "ab-night-000--night-007.html" in (out / "compare" / "index.html").read_text()
    assert harness(monkeypatch, "publish", "--out", out, "--store", s.url, "--compare", "night-000") == 2
    assert not (out / "runs" / "night-005").exists()  # only the latest --run-pages runs get a page
    page = out / "runs" / "night-007" / "index.html"
    page.write_text("kept")  # a finished run's page is reused, not re-rendered
    assert harness(monkeypatch, "publish", "--out", out, "--store", s.url, "--run-pages", "2") == 0
    assert page.read_text() == "kept"
