"""Output error of a cell vs the fp32 reference (same inputs, host CPU EP). Pure functions.

Keys are the agent's outputs.npz keys ("<label>/<name>"). Per float tensor: l2, rel_l2
(||ref - out|| / ||ref||), max_abs, cosine. The main tensor gets the plain names; every
tensor also gets "<metric>:<key>"; integer outputs get "exact_match:<key>". Classification: top1/top5 agreement. Generation:
token_match (position-wise, mean over sequences), first_divergence (earliest over
sequences), kl_mean (KL(ref || out) of next-token distributions over the steps whose
prefix still agreed). Generated-step logits are compared only over that agreed prefix.

Cross-platform agreement (``xplat_*``): the same comparison between two runs of the SAME
precision's artifact on identical inputs, e.g. a phone's int8 outputs vs the host CPU EP's
int8 outputs: what the platform (EP, kernels, threads) changes, not what quantisation does.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from harness.config.models import Budget
from harness.records import MetricValue

METHOD = "vs fp32 host CPU"
XPLAT_PREFIX = "xplat_"
XPLAT_HOST_METHOD = "vs the same precision on the host CPU EP, same inputs"
# the headline agreement numbers kept per cell (per-tensor detail stays with the fp32 fidelity)
XPLAT_METRICS = ("rel_l2", "max_abs", "cosine", "top1_agreement", "token_match")
XPLAT_REL_L2 = XPLAT_PREFIX + "rel_l2"
XPLAT_MAX_ABS = XPLAT_PREFIX + "max_abs"
CLASSIFICATION_KINDS = ("image-classification",)
GENERATION_KINDS = ("text-generation", "translation")


def _m(name: str, value: float | None, unit: str) -> MetricValue:
    return MetricValue(name=name, value=value, unit=unit, kind="deterministic", method=METHOD)


def tensor_errors(ref: np.ndarray, out: np.ndarray) -> dict[str, float]:
    a = np.asarray(ref, dtype=np.float64).ravel()
    b = np.asarray(out, dtype=np.float64).ravel()
    diff = a - b
    l2 = float(np.linalg.norm(diff))
    na, nb = float(np.linalg.norm(a)), float(np.linalg.norm(b))
    return {
        "l2": l2,
        "rel_l2": l2 / na if na else (0.0 if l2 == 0 else float("inf")),
        "max_abs": float(np.max(np.abs(diff))) if diff.size else 0.0,
        "cosine": float(a @ b / (na * nb)) if na and nb else (1.0 if na == nb else 0.0),
    }


def _softmax(x: np.ndarray) -> np.ndarray:
    z = x - x.max(axis=-1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=-1, keepdims=True)


def _log_softmax(x: np.ndarray) -> np.ndarray:
    z = x - x.max(axis=-1, keepdims=True)
    return z - np.log(np.exp(z).sum(axis=-1, keepdims=True))


def kl_divergence(ref_logits: np.ndarray, out_logits: np.ndarray) -> np.ndarray:
    """KL(softmax(ref) || softmax(out)) per row, in nats."""
    r = np.asarray(ref_logits, dtype=np.float64)
    o = np.asarray(out_logits, dtype=np.float64)
    return np.maximum(np.sum(_softmax(r) * (_log_softmax(r) - _log_softmax(o)), axis=-1), 0.0)  # >= 0; no -1e-70


def first_divergence(ref_tokens: np.ndarray, out_tokens: np.ndarray) -> int:
    """Index of the first differing token; the length when none differ."""
    a, b = np.asarray(ref_tokens).ravel(), np.asarray(out_tokens).ravel()
    n = min(a.size, b.size)
    diff = np.nonzero(a[:n] != b[:n])[0]
    return int(diff[0]) if diff.size else n


def _is_float(x: np.ndarray) -> bool:
    return np.issubdtype(np.asarray(x).dtype, np.floating)


LAST_POSITION_ONLY = "/prefill_logits"


def _main_key(kind: str, keys: list[str]) -> str | None:
    if not keys:
        return None
    preferred = {"text-generation": "/prefill_logits", "translation": "/logits"}.get(kind)
    for k in keys:
        if preferred and k.endswith(preferred):
            return k
    return keys[0]


def fidelity_metrics(kind: str, reference: Mapping[str, np.ndarray], outputs: Mapping[str, np.ndarray]) -> list[MetricValue]:
    """``kind`` is the workload kind or the agent job kind (single / text-generation / translation)."""
    ref = {k: np.asarray(v) for k, v in reference.items()}
    out = {k: np.asarray(v) for k, v in outputs.items()}
    missing = sorted(set(ref) - set(out))
    if missing and all(k.endswith(LAST_POSITION_ONLY) for k in missing) and any(k.endswith("/logits") for k in out):
        # a generation loop that keeps only the last position's logits (ONNX Runtime GenAI): tokens and
        # per-step logits are compared, the prompt's other positions are not
        ref = {k: v for k, v in ref.items() if k not in missing}
        missing = []
    metrics: list[MetricValue] = []
    if missing:
        raise ValueError(f"cell outputs lack {missing} that the reference has (have {sorted(out)})")
    # generation: tokens first, they bound the logits comparison
    agreed: dict[str, int] = {}
    matches, divs, kls = [], [], []
    for key in sorted(k for k in ref if k.endswith("/tokens")):
        label = key[: -len("/tokens")]
        a, b = ref[key].ravel(), out[key].ravel()
        n = min(a.size, b.size)
        div = first_divergence(a, b)
        agreed[label] = min(div + 1, n)  # the step that diverged still had an identical prefix
        matches.append(float(np.mean(a[:n] == b[:n])) if n else 1.0)
        divs.append(div)
        lk = label + "/logits"
        if lk in ref and lk in out:
            rows = agreed[label]
            kl = kl_divergence(ref[lk][:rows], out[lk][:rows])
            kls.append(float(np.mean(kl)))
            metrics.append(_m(f"kl_mean:{label}", kls[-1], "nats"))
        metrics.append(_m(f"token_match:{label}", matches[-1], "fraction"))
        metrics.append(_m(f"first_divergence:{label}", float(div), "tokens"))
    if matches:
        metrics.append(_m("token_match", float(np.mean(matches)), "fraction"))
        metrics.append(_m("first_divergence", float(min(divs)), "tokens"))
    if kls:
        metrics.append(_m("kl_mean", float(np.mean(kls)), "nats"))

    for key in sorted(k for k in ref if not _is_float(ref[k]) and not k.endswith("/tokens")):
        if ref[key].shape == out[key].shape:  # integer/bool outputs (class ids, masks): exact agreement
            metrics.append(_m(f"exact_match:{key}", float(np.mean(ref[key] == out[key])) if ref[key].size else 1.0, "fraction"))
    float_keys = [k for k in sorted(ref) if _is_float(ref[k])]
    main = _main_key(kind, float_keys)
    for key in float_keys:
        a, b = ref[key], out[key]
        label = key.rpartition("/")[0]
        if key.endswith("/logits") and label in agreed:
            a, b = a[: agreed[label]], b[: agreed[label]]
        if a.shape != b.shape:
            raise ValueError(f"output {key!r}: shape {b.shape} differs from the reference's {a.shape}")
        errs = tensor_errors(a, b)
        for name, value in errs.items():
            metrics.append(_m(f"{name}:{key}", value, "ratio" if name in ("rel_l2", "cosine") else "abs"))
            if key == main:
                metrics.append(_m(name, value, "ratio" if name in ("rel_l2", "cosine") else "abs"))
        if _classifies(kind, key, a):
            for k in (1, 5):
                agree = topk_agreement(a, b, k)
                metrics.append(_m(f"top{k}_agreement:{key}", agree, "fraction"))
                if key == main:
                    metrics.append(_m(f"top{k}_agreement", agree, "fraction"))
    return metrics


def xplat_method(reference: str) -> str:
    """The method string of cross-platform metrics against a named reference device."""
    return f"vs the same precision on {reference}, same inputs"


def xplat_metrics(kind: str, reference: Mapping[str, np.ndarray], outputs: Mapping[str, np.ndarray],
                  method: str = XPLAT_HOST_METHOD) -> list[MetricValue]:
    """Agreement of ``outputs`` with another platform's outputs of the same artifact and inputs
    (``xplat_rel_l2``, ``xplat_max_abs``, ...; deterministic, the reference named in ``method``)."""
    return [MetricValue(XPLAT_PREFIX + m.name, m.value, m.unit, "deterministic", method)
            for m in fidelity_metrics(kind, reference, outputs) if m.name in XPLAT_METRICS]


def _classifies(kind: str, key: str, ref: np.ndarray) -> bool:
    if kind in GENERATION_KINDS or ref.ndim != 2 or ref.shape[-1] < 5:
        return False
    return kind in CLASSIFICATION_KINDS or key.endswith("logits")


def topk_agreement(ref: np.ndarray, out: np.ndarray, k: int) -> float:
    """Fraction of rows where out's top-1 class is among ref's top-k (k=1: same argmax)."""
    ref2 = np.asarray(ref).reshape(-1, ref.shape[-1])
    out2 = np.asarray(out).reshape(-1, out.shape[-1])
    top_ref = np.argsort(-ref2, axis=-1, kind="stable")[:, :k]
    pred = np.argmax(out2, axis=-1)
    return float(np.mean([p in row for p, row in zip(pred, top_ref, strict=True)]))


# budget field -> (metric name, "max" | "min")
_BOUNDS = {
    "rel_l2": ("rel_l2", "max"),
    "max_abs": ("max_abs", "max"),
    "cosine_min": ("cosine", "min"),
    "top1_agreement_min": ("top1_agreement", "min"),
    "top5_agreement_min": ("top5_agreement", "min"),
    "token_match_min": ("token_match", "min"),
    "kl_max": ("kl_mean", "max"),
}


def _fmt(x: float) -> str:
    return f"{x:.3g}"


def budget_violations(metrics: list[MetricValue], budget: Budget | None) -> list[str]:
    if budget is None:
        return []
    by_name = {m.name: m.value for m in metrics}
    out = []
    for field_name, (metric, sense) in _BOUNDS.items():
        bound = getattr(budget, field_name)
        if bound is None:
            continue
        value = by_name.get(metric)
        if value is None:
            out.append(f"{metric} not measured but budgeted ({field_name} {_fmt(bound)})")
        elif np.isnan(value) or (sense == "max" and value > bound) or (sense == "min" and value < bound):
            op = ">" if sense == "max" else "<"
            out.append(f"{metric} {_fmt(value)} {op} budget {_fmt(bound)}")
    return out
