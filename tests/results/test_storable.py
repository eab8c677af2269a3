"""Any text a device sends reaches SQLite and PostgreSQL: a lone surrogate, a NUL, a series name over
the metric column, a provider name over ep_used. The stored text is the cleaned, cut copy; the whole
text is kept in result_json["storable"]; nothing raises, nothing else in the cell changes."""

from __future__ import annotations

import itertools
import json
from collections.abc import Iterator

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from harness.records import CellRecord
from harness.results.storable import clean, fit, storable_record
from harness.results.store import Store
from harness.session.cell_result import agent_metrics, series_metrics
from tests.rigs.postgres import postgres_rig, postgres_url  # noqa: F401  (fixtures)

# what a device can send: any unicode, and any bytes the way a transport decodes them (surrogateescape)
device_text = st.one_of(
    st.text(max_size=300),
    st.binary(max_size=300).map(lambda b: b.decode("utf-8", "surrogateescape")),
    st.text(alphabet=st.sampled_from("a\x00\ud800\udfff\u202e\x1b"), min_size=120, max_size=400),
)


def _record(key: str, texts: dict[str, str]) -> CellRecord:
    """A cell as the session builds it from a device's result: every device-string path filled."""
    series = {texts["series"]: {"unit": "ms", "samples": [1.0, 1.1, 1.2], "warmup_n": 0,
                                "stopped_by": "max_seconds"},
              texts["series"] + "x" * 5: {"unit": "ms", "samples": [2.0, 2.1], "warmup_n": 0,
                                          "stopped_by": "max_seconds"}}
    metrics, samples = series_metrics(series)
    memory = {"peak_rss_mb": 10.0, "method": texts["method"]}
    metrics += agent_metrics({"load_ms": {texts["role"]: 3.0}, "memory": memory})
    result = {"error": texts["error"], "providers": {"used": texts["provider"], "session": [texts["provider"]]},
              "env": {"onnxruntime": texts["version"], "machine": texts["machine"]}}
    return CellRecord(key, "dev", "wl", "fp32", "cpu", "failed", error=texts["error"], transport="ssh",
                      device_fingerprint="fp", fingerprint={"machine": texts["machine"], texts["machine"]: 1},
                      ort_version=texts["version"], ep_requested="CPUExecutionProvider", ep_used=texts["provider"],
                      result=result, metrics=metrics, samples=samples)


_KEYS = itertools.count()


def _as_json(text: str) -> str:
    """What JSON gives back for ``text`` (a surrogate pair written as two escapes reads as one character)."""
    return str(json.loads(json.dumps(text)))


FIELDS = ("series", "method", "role", "error", "provider", "version", "machine")


def _check_round_trip(store: Store, run_id: str, key: str, texts: dict[str, str]) -> None:
    rec = _record(key, texts)
    store.record_cell(run_id, rec)
    cells = store.cells_frame([run_id])
    row = cells[cells.cell_key == key].iloc[0]
    assert row.ep_used == fit(clean(texts["provider"]), 64)
    assert row.ort_version == fit(clean(texts["version"]), 32)
    assert row.error.endswith(clean(texts["error"])[-1000:])
    stored = json.loads(row.result_json)
    assert stored["providers"]["used"] == _as_json(texts["provider"])  # the whole text, JSON-escaped
    notes = {n["field"]: n for n in stored.get("storable", [])}
    if clean(texts["provider"]) != texts["provider"] or len(texts["provider"]) > 64:
        assert notes["ep_used"]["full"] == _as_json(texts["provider"])
    metrics = store.metrics_frame([run_id])
    names = set(metrics[metrics.cell_id == row.id].metric)
    assert len(names) == len(rec.metrics)  # two device names never collapse into one row
    assert all(len(n) <= 128 and "\x00" not in n for n in names)
    samples = store.samples_for([int(row.id)])
    assert sorted(len(v) for v in samples.values()) == [2, 3]


@pytest.fixture
def sqlite_store(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Store]:
    store = Store(tmp_path_factory.mktemp("storable") / "s.db")
    store.create_run("r", [])
    yield store
    store.close()


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(texts=st.fixed_dictionaries({f: device_text for f in FIELDS}))
def test_any_device_text_reaches_sqlite(sqlite_store: Store, texts: dict[str, str]) -> None:
    _check_round_trip(sqlite_store, "r", f"dev/wl/fp32/cpu#{next(_KEYS)}", texts)


@pytest.mark.rig
@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(texts=st.fixed_dictionaries({f: device_text for f in FIELDS}))
def test_any_device_text_reaches_postgres(postgres_url: str, texts: dict[str, str]) -> None:  # noqa: F811
    store = _pg_store(postgres_url)
    _check_round_trip(store, "r", f"dev/wl/fp32/cpu#{next(_KEYS)}", texts)


_PG: dict[str, Store] = {}


def _pg_store(url: str) -> Store:
    """One store per database: hypothesis calls the test many times with one fixture value."""
    if url not in _PG:
        _PG[url] = Store(url)
        _PG[url].create_run("r", [])
    return _PG[url]


def test_the_issue_cases_by_name(tmp_path) -> None:  # type: ignore[no-untyped-def]
    store = Store(tmp_path / "s.db")
    store.create_run("r", [])
    texts = {"series": "s" * 200, "method": "VmHWM\x00", "role": "model", "error": "boom \ud800 \x00",
             "provider": "P" * 80, "version": "1.2\udcff", "machine": "x86_64"}
    _check_round_trip(store, "r", "dev/wl/fp32/cpu", texts)
    row = store.cells_frame(["r"]).iloc[0]
    assert row.error == "boom \ufffd \ufffd"
    notes = {n["field"] for n in json.loads(row.result_json)["storable"]}
    assert {"error", "ep_used", "ort_version"} <= notes
    assert storable_record(_record("k", {f: "plain" for f in FIELDS})).result.get("storable") is None


def test_fit_keeps_long_names_apart() -> None:
    a, b = "x" * 200 + "a", "x" * 200 + "b"
    assert fit(a, 128) != fit(b, 128) and len(fit(a, 128)) == 128
    assert np.all([fit(s, 128) == s for s in ("short", "y" * 128)])
