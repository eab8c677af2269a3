"""Fidelity metrics vs the fp32 reference: pure functions on known tensors."""

from __future__ import annotations

import numpy as np
import pytest

from harness.analysis.fidelity import (
    budget_violations,
    fidelity_metrics,
    first_divergence,
    kl_divergence,
    tensor_errors,
    topk_agreement,
)
from harness.config.models import Budget


def _by_name(metrics):
    return {m.name: m for m in metrics}


def test_identical_outputs_have_zero_error_and_unit_cosine():
    ref = {"/logits": np.arange(20, dtype=np.float32).reshape(2, 10)}
    m = _by_name(fidelity_metrics("image-classification", ref, {k: v.copy() for k, v in ref.items()}))
    assert m["rel_l2"].value == 0.0 and m["max_abs"].value == 0.0 and m["l2"].value == 0.0
    assert m["cosine"].value == pytest.approx(1.0)
    assert m["top1_agreement"].value == 1.0 and m["top5_agreement"].value == 1.0
    assert all(x.kind == "deterministic" and x.method == "vs fp32 host CPU" for x in m.values())


def test_known_perturbation_gives_exact_numbers():
    a = np.array([3.0, 4.0], dtype=np.float32)  # |a| = 5
    b = np.array([3.0, 4.5], dtype=np.float32)
    e = tensor_errors(a, b)
    assert e["l2"] == pytest.approx(0.5)
    assert e["rel_l2"] == pytest.approx(0.1)
    assert e["max_abs"] == pytest.approx(0.5)
    assert e["cosine"] == pytest.approx((9 + 18) / (5 * np.hypot(3, 4.5)))


def test_main_output_gets_plain_names_and_others_are_suffixed():
    ref = {"b1/logits": np.ones((1, 8), np.float32), "b1/aux": np.ones((1, 3), np.float32)}
    out = {"b1/logits": np.ones((1, 8), np.float32) * 1.1, "b1/aux": np.ones((1, 3), np.float32) * 2}
    m = _by_name(fidelity_metrics("single", ref, out))
    assert m["rel_l2"].value == pytest.approx(m["rel_l2:b1/aux"].value)  # "aux" sorts first: the main output
    assert m["rel_l2:b1/logits"].value == pytest.approx(0.1, rel=1e-5)


def test_topk_agreement_counts_rows():
    ref = np.array([[5, 4, 3, 2, 1, 0], [0, 1, 2, 3, 4, 5]], np.float32)
    out = np.array([[4, 5, 3, 2, 1, 0], [0, 1, 2, 3, 4, 5]], np.float32)  # row 0: argmax moved to ref's 2nd
    assert topk_agreement(ref, out, 1) == 0.5
    assert topk_agreement(ref, out, 5) == 1.0


def test_generation_metrics_token_match_divergence_and_kl_over_agreed_prefix():
    rng = np.random.default_rng(0)
    logits = rng.standard_normal((6, 50)).astype(np.float32)
    ref = {
        "p8/prefill_logits": rng.standard_normal((8, 50)).astype(np.float32),
        "p8g6/tokens": np.array([1, 2, 3, 4, 5, 6]),
        "p8g6/logits": logits,
    }
    cell_logits = logits.copy()
    cell_logits[4:] += 100.0  # garbage only after the divergence: must not count
    cell_logits[2] += 0.5  # a small shift inside the agreed prefix
    out = {
        "p8/prefill_logits": ref["p8/prefill_logits"] * 1.001,
        "p8g6/tokens": np.array([1, 2, 3, 9, 5, 6]),
        "p8g6/logits": cell_logits,
    }
    m = _by_name(fidelity_metrics("text-generation", ref, out))
    assert m["first_divergence"].value == 3
    assert m["token_match"].value == pytest.approx(5 / 6)
    assert m["rel_l2"].value == pytest.approx(0.001, rel=1e-3)  # headline: prefill logits
    kl_rows = kl_divergence(logits[:4], cell_logits[:4])
    assert m["kl_mean"].value == pytest.approx(float(kl_rows.mean()))
    assert m["kl_mean"].value > 0
    assert m["max_abs:p8g6/logits"].value == pytest.approx(0.5, rel=1e-5)  # the +100 rows are excluded


def test_first_divergence_none_is_length_and_kl_is_never_negative():
    assert first_divergence(np.array([1, 2, 3]), np.array([1, 2, 3])) == 3
    x = np.random.default_rng(1).standard_normal((4, 1000))
    assert (kl_divergence(x, x) == 0).all()


def test_missing_and_misshapen_outputs_are_errors():
    ref = {"/y": np.ones(3, np.float32)}
    with pytest.raises(ValueError, match="lack"):
        fidelity_metrics("single", ref, {})
    with pytest.raises(ValueError, match="shape"):
        fidelity_metrics("single", ref, {"/y": np.ones(4, np.float32)})


def test_budget_violations_name_the_numbers():
    ref = {"b1/logits": np.array([[3.0, 4.0, 0, 0, 0]], np.float32)}
    out = {"b1/logits": np.array([[3.0, 5.5, 0, 0, 0]], np.float32)}
    metrics = fidelity_metrics("image-classification", ref, out)
    msgs = budget_violations(metrics, Budget(rel_l2=0.2, cosine_min=0.999, top1_agreement_min=1.0))
    assert msgs == ["rel_l2 0.3 > budget 0.2", f"cosine {_by_name(metrics)['cosine'].value:.3g} < budget 0.999"]
    assert budget_violations(metrics, Budget(rel_l2=0.5)) == []
    assert budget_violations(metrics, None) == []
    assert budget_violations(metrics, Budget(token_match_min=0.9)) == [
        "token_match not measured but budgeted (token_match_min 0.9)"
    ]


def test_integer_outputs_get_exact_match():
    ref = {"/ids": np.array([1, 2, 3, 4]), "/y": np.ones(2, np.float32)}
    out = {"/ids": np.array([1, 2, 0, 4]), "/y": np.ones(2, np.float32)}
    m = _by_name(fidelity_metrics("single", ref, out))
    assert m["exact_match:/ids"].value == 0.75 and m["rel_l2"].value == 0.0
