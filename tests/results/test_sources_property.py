"""Compare inputs are untrusted: thousands of generated files and frames, never an uncaught exception.

Every file is either read (and then compared without a crash) or rejected with a HarnessError that
names the file and the place in it. Generated documents start from valid JSON exports and
pytest-benchmark files and have any field swapped for any JSON value, NaN or a huge number.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pandas as pd
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from harness.analysis.compare import compare
from harness.errors import HarnessError
from harness.records import CELL_COLUMNS, SIDE_COLUMNS, Side
from harness.results.sources import side_from_file

SLOW = [HealthCheck.too_slow, HealthCheck.function_scoped_fixture]

scalars = st.one_of(st.none(), st.booleans(), st.integers(min_value=-(2**70), max_value=2**70),
                    st.floats(allow_nan=True, allow_infinity=True), st.text(max_size=8))
json_values = st.recursive(scalars, lambda inner: st.one_of(st.lists(inner, max_size=4),
                                                           st.dictionaries(st.text(max_size=6), inner, max_size=4)),
                           max_leaves=12)


def maybe(valid: st.SearchStrategy) -> st.SearchStrategy:
    """Mostly the valid value (so most documents reach the verdicts), sometimes anything at all."""
    return st.sampled_from([False] * 39 + [True]).flatmap(lambda mutate: json_values if mutate else valid)


positive = st.floats(min_value=0.1, max_value=1e4)
samples = st.one_of(*[st.lists(positive, min_size=3, max_size=40)] * 4, st.lists(positive, max_size=3),
                    st.lists(st.one_of(positive, st.none(), st.just(float("nan")), st.just(-1.0)), max_size=40))
metric = st.fixed_dictionaries({
    "name": maybe(st.sampled_from(["latency_ms@b1", "tokens_per_s", "peak_rss_mb", "latency_ms@b1.p90"])),
    "value": maybe(st.one_of(positive, st.just(float("nan")), st.none())),
    "unit": maybe(st.sampled_from(["ms", "MB", "1/s", None])),
    "kind": maybe(st.sampled_from(["noisy", "deterministic", "info"])),
    "method": maybe(st.sampled_from(["perf_counter, median", "VmHWM", None])),
})
cell = st.fixed_dictionaries({
    "device": maybe(st.sampled_from(["pixel", "pi5"])),
    "workload": maybe(st.sampled_from(["resnet", "bert"])),
    "precision": maybe(st.just("fp32")),
    "backend": maybe(st.just("cpu")),
    "status": maybe(st.sampled_from(["ok", "failed", "accuracy_fail"])),
    "device_fingerprint": maybe(st.sampled_from(["fp-1", None])),
    "artifact_sha256": maybe(st.sampled_from(["sha-1", "sha-2", None])),
    "metrics": maybe(st.lists(maybe(metric), min_size=1, max_size=4)),
    "samples": maybe(st.dictionaries(st.sampled_from(["latency_ms@b1", "tokens_per_s"]), maybe(samples), max_size=2)),
    "result": maybe(st.fixed_dictionaries({"flags": maybe(st.lists(st.one_of(st.text(max_size=5), json_values),
                                                                            max_size=3)),
                                           "identity": maybe(st.fixed_dictionaries({
                                               "session": maybe(st.dictionaries(st.text(max_size=4), scalars,
                                                                                max_size=3)),
                                               "runner": maybe(st.just("python-agent"))}))})),
})
export_doc = st.fixed_dictionaries({"format": st.just("harness-run"), "run": maybe(st.fixed_dictionaries(
    {"run_id": maybe(st.text(min_size=1, max_size=6))})), "cells": maybe(st.lists(maybe(cell), min_size=1, max_size=4))})
bench = st.fixed_dictionaries({
    "name": maybe(st.text(min_size=1, max_size=6)),
    "fullname": maybe(st.text(min_size=1, max_size=8)),
    "stats": maybe(st.fixed_dictionaries({"median": maybe(positive), "q1": maybe(positive), "q3": maybe(positive),
                                          "rounds": maybe(st.integers(0, 100)), "data": maybe(st.one_of(st.none(),
                                                                                                        samples))})),
    "extra_info": maybe(st.one_of(st.just({}), st.fixed_dictionaries({"harness": maybe(st.fixed_dictionaries({
        "device": maybe(st.just("pixel")), "workload": maybe(st.just("w")), "precision": maybe(st.just("fp32")),
        "backend": maybe(st.just("cpu")), "metric": maybe(st.just("latency_ms@b1")), "unit": maybe(st.just("ms")),
        "scale": maybe(st.sampled_from([1e-3, 1e-3, 1e-3, 1.0, 0, -1.0])), "flags": maybe(st.lists(st.text(max_size=4)))}))}))),
})
bench_doc = st.fixed_dictionaries({"machine_info": maybe(st.fixed_dictionaries({"node": maybe(st.text(max_size=5))})),
                                   "commit_info": maybe(st.fixed_dictionaries({"id": maybe(st.text(max_size=5))})),
                                   "benchmarks": st.lists(maybe(bench), min_size=1, max_size=4)})


def _read(path: Path, doc: object) -> Side | None:
    path.write_text(json.dumps(doc, allow_nan=True))
    try:
        return side_from_file(path)
    except HarnessError as exc:
        assert str(path) in str(exc), exc  # every rejection says which file, and where in it
        return None


def _compare_never_raises(side: Side, other: Side) -> None:
    cmp = compare(side, other)
    assert cmp.exit_code() in (0, 1, 2)
    for row in cmp.rows:
        json.dumps(row.to_dict(), allow_nan=False, default=str)  # what render_json will do


@settings(max_examples=1000, deadline=None, suppress_health_check=SLOW)
@given(doc=st.one_of(export_doc, bench_doc, json_values))
def test_any_file_is_read_or_rejected_with_where(tmp_path: Path, doc: object) -> None:
    side = _read(tmp_path / "x.json", doc)
    if side is not None:
        assert list(side.metrics.columns) == SIDE_COLUMNS and list(side.cells.columns) == CELL_COLUMNS


@settings(max_examples=300, deadline=None, suppress_health_check=SLOW)
@given(a=st.one_of(export_doc, bench_doc), b=st.one_of(export_doc, bench_doc))
def test_whatever_two_files_hold_the_comparison_never_crashes(tmp_path: Path, a: object, b: object) -> None:
    sa, sb = _read(tmp_path / "a.json", a), _read(tmp_path / "b.json", b)
    if sa is not None and sb is not None:
        _compare_never_raises(sa, sb)
        _compare_never_raises(sb, sa)


frame_values = st.one_of(st.none(), st.floats(allow_nan=True, allow_infinity=True), st.floats(0.1, 100.0))


@st.composite
def frames(draw: st.DrawFn) -> Side:
    rows = []
    for _ in range(draw(st.integers(0, 6))):
        raw = draw(st.one_of(st.none(), st.lists(frame_values, max_size=30)))
        rows.append({
            "run_id": draw(st.sampled_from(["r1", "r2", "r3"])), "round": draw(st.one_of(st.none(), st.integers(1, 3))),
            "device": "d", "device_fingerprint": draw(st.sampled_from(["f", ""])), "workload": draw(st.sampled_from("wv")),
            "precision": "fp32", "backend": "cpu", "build_id": None, "artifact_sha256": draw(st.sampled_from([None, "s"])),
            "metric": draw(st.sampled_from(["m", "n"])), "unit": draw(st.sampled_from(["ms", None])),
            "method": draw(st.sampled_from(["perf_counter, median of 3 (x)", None])), "status": draw(
                st.sampled_from(["ok", "failed", "accuracy_fail"])), "error": None,
            "kind": draw(st.sampled_from(["noisy", "deterministic"])), "value": draw(frame_values),
            "samples": None if raw is None else np.asarray([math.nan if v is None else v for v in raw], dtype=float),
            "stats": draw(st.one_of(st.none(), st.fixed_dictionaries({"median": frame_values, "q1": frame_values,
                                                                      "q3": frame_values, "n": frame_values}))),
            "config": draw(st.sampled_from([None, "runner=\"a\"", "runner=\"b\""])), "flags": (),
            "contention_cores": draw(frame_values)})
    metrics = pd.DataFrame(rows, columns=SIDE_COLUMNS)
    cells = metrics[CELL_COLUMNS].drop_duplicates().reset_index(drop=True) if rows else pd.DataFrame(
        columns=CELL_COLUMNS)
    return Side("s", metrics, cells, sorted(set(metrics["run_id"])))


@settings(max_examples=500, deadline=None)
@given(a=frames(), b=frames(), paired=st.booleans())
def test_any_frames_give_verdicts_not_exceptions(a: Side, b: Side, paired: bool) -> None:
    cmp = compare(a, b, paired=paired)
    for row in cmp.rows:
        json.dumps(row.to_dict(), allow_nan=False, default=str)
        if row.kind == "noisy" and row.verdict.value not in ("INCOMPARABLE", "FAILED"):  # FAILED: B did not measure
            assert row.runs_a >= 1 and row.runs_b >= 1 and row.sigma_source is not None
