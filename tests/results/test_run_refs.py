"""Naming runs: latest / latest~N counted like `harness results` lists them, under the same filters."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from harness.errors import HarnessError
from harness.results.run_refs import (
    RunFilter,
    cell_counts,
    find_runs,
    format_ref,
    parse_ref,
    planned_names,
    resolve_run,
)
from harness.results.store import Store
from tests.analysis.synthetic import CellSpec, record_run


@pytest.fixture
def store(tmp_path: Path) -> Store:
    s = Store(tmp_path / "refs.db")
    pixel, pi5 = CellSpec(), CellSpec(device="pi5", fingerprint="fp-pi5", workload="bert")
    record_run(s, "r1", cells=(pixel,), created_at="2026-01-01T00:00:00+00:00", build_id="b-1")
    record_run(s, "r2", cells=(pi5,), created_at="2026-01-02T00:00:00+00:00", build_id="b-2")
    record_run(s, "r3", cells=(pixel, pi5), created_at="2026-01-03T00:00:00+00:00", build_id="b-2",
               status={"bert": "failed"})
    s.create_run("r4", [{"device": "pixel", "workload": "resnet", "precision": "fp32", "backend": "cpu",
                         "status": "planned", "key": "pixel/resnet/fp32/cpu"}], build_id="b-3", kind="ab")
    s.update_run("r4", created_at="2026-01-04T00:00:00+00:00")
    yield s
    s.close()


def test_latest_counts_back_from_the_newest(store: Store) -> None:
    assert [resolve_run(store, r) for r in ("latest", "latest~1", "latest~3")] == ["r4", "r3", "r1"]
    assert resolve_run(store, "r2") == "r2"  # a run id is itself
    with pytest.raises(HarnessError, match="only 4 run"):
        resolve_run(store, "latest~4")
    with pytest.raises(HarnessError, match="no run 'r9'"):
        resolve_run(store, "r9")


def test_filters_narrow_what_latest_counts(store: Store) -> None:
    assert resolve_run(store, "latest", RunFilter(device=("pi5",))) == "r3"
    assert resolve_run(store, "latest~1", RunFilter(device=("pi5",))) == "r2"
    assert resolve_run(store, "latest", RunFilter(workload=("resnet",), kind=("run",))) == "r3"
    assert resolve_run(store, "latest~1", RunFilter(device=("pixel",), workload=("resnet",))) == "r3"
    assert [r["run_id"] for r in find_runs(store, RunFilter(build=("b-2",)))] == ["r3", "r2"]
    assert [r["run_id"] for r in find_runs(store, RunFilter(kind=("ab",)))] == ["r4"]
    assert [r["run_id"] for r in find_runs(store, limit=2)] == ["r4", "r3"]
    with pytest.raises(HarnessError, match="no runs with device nexus"):
        resolve_run(store, "latest", RunFilter(device=("nexus",)))


def test_counts_and_names_of_a_listing(store: Store) -> None:
    assert cell_counts(store, ["r3", "r4", "r1"]) == {"r3": {"failed": 1, "ok": 1}, "r1": {"ok": 1}}
    assert planned_names(store.get_run("r3")) == (["pi5", "pixel"], ["bert", "resnet"])
    assert planned_names(store.get_run("r4")) == (["pixel"], ["resnet"])


@given(st.integers(min_value=0, max_value=999_999))
def test_latest_tilde_n_parses_back_to_n(n: int) -> None:
    assert parse_ref(f"latest~{n}") == n
    assert parse_ref(format_ref(n)) == n


def test_commands_name_runs_through_the_one_resolver() -> None:
    """House rule: no command or reader resolves `latest` on its own (one meaning, one place)."""
    root = Path(__file__).resolve().parents[2] / "harness"
    offenders = [str(f.relative_to(root)) for pkg in ("commands", "results", "report", "farm")
                 for f in (root / pkg).rglob("*.py") if f.name != "run_refs.py"
                 and ('"latest"' in f.read_text() or "latest_run(" in f.read_text())]
    assert offenders == []


@given(st.text(max_size=40))
def test_anything_else_is_a_run_id_or_a_clear_error(text: str) -> None:
    try:
        got = parse_ref(text)
    except HarnessError as exc:
        assert text.lower().strip().startswith("latest") and "latest~N" in str(exc)
        return
    if got is None:
        assert not (text == "latest" or (text.startswith("latest~") and text[7:].isdigit()))
    else:
        assert text == "latest" or text.startswith("latest~")
