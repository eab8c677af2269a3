"""Decision thresholds per metric and per workload glob.

A thresholds file (YAML, loaded with file:line errors by the compare command) looks like::

    defaults: {delta: 0.05, alpha: 0.01, run_noise: 0.05}
    higher_is_better: ["accuracy*"]          # added to the built-in list
    rules:                                    # later rules win for the fields they set
      - {metric: "latency_ms*", workload: "resnet*", delta: 0.08}
      - {metric: "rel_l2", precision: "int8", abs_tol: 0.001, budget: 0.05}

Noisy metrics use ``delta`` (smallest ratio change that counts: fixed, never widened by noise),
``alpha`` (Holm-adjusted p-value bound) and ``run_noise`` (the run-to-run σ to assume, as a fraction,
when neither the runs given, a calibration nor the history can estimate it; a verdict that uses it
says so). Deterministic metrics use ``rel_tol`` / ``abs_tol`` and an optional ``budget`` (an
absolute bound on B, e.g. an error budget per precision).
"""

from __future__ import annotations

from dataclasses import dataclass
from fnmatch import fnmatchcase

from pydantic import BaseModel, ConfigDict, Field

DEFAULT_DELTA = 0.05
DEFAULT_ALPHA = 0.01
DEFAULT_RUN_NOISE = 0.05  # assumed run-to-run σ (5 %: the middle of the 2-8 % phones show)
CALIBRATION_RUNS = 10  # A/A runs `harness calibrate` makes by default
MIN_CALIBRATION_RUNS = 3  # fewer runs cannot estimate a variance worth storing

BUILTIN_HIGHER_IS_BETTER = (
    "tokens_per_s*",
    "*per_s",
    "*per_s@*",
    "throughput*",
    "fps*",
    "*agreement*",
    "cosine*",
    "token_match*",
    "pp[0-9]*@d[0-9]*",  # llama-bench's prompt processing, tok/s
    "tg[0-9]*@d[0-9]*",  # llama-bench's token generation, tok/s
    "greedy_match*",
)


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Limits(_Strict):
    delta: float | None = Field(None, gt=0, lt=10)
    alpha: float | None = Field(None, gt=0, lt=1)
    run_noise: float | None = Field(None, ge=0, lt=1)
    rel_tol: float | None = Field(None, ge=0)
    abs_tol: float | None = Field(None, ge=0)
    budget: float | None = None


class Rule(Limits):
    metric: str = "*"
    workload: str = "*"
    precision: str = "*"
    backend: str = "*"

    def matches(self, workload: str, precision: str, backend: str, metric: str) -> bool:
        return (
            fnmatchcase(metric, self.metric)
            and fnmatchcase(workload, self.workload)
            and fnmatchcase(precision, self.precision)
            and fnmatchcase(backend, self.backend)
        )


# Built-in tolerances for near-deterministic metrics: memory moves by a few MB between runs;
# output error is bit-stable for one artifact on one device, so only a small relative slack.
BUILTIN_RULES = (
    Rule(metric="*", rel_tol=0.05, abs_tol=0.0),
    Rule(metric="*_mb", rel_tol=0.05, abs_tol=2.0),
    Rule(metric="*rss*", rel_tol=0.05, abs_tol=2.0),
    Rule(metric="rel_l2*", rel_tol=0.10, abs_tol=1e-6),
    Rule(metric="max_abs*", rel_tol=0.10, abs_tol=1e-6),
    Rule(metric="kl*", rel_tol=0.10, abs_tol=1e-6),
    Rule(metric="*agreement*", rel_tol=0.0, abs_tol=0.01),
    Rule(metric="cosine*", rel_tol=0.0, abs_tol=1e-4),
)


class Thresholds(_Strict):
    defaults: Limits = Limits()
    higher_is_better: tuple[str, ...] = ()
    rules: tuple[Rule, ...] = ()

    def resolve(self, workload: str, precision: str, backend: str, metric: str) -> Threshold:
        values = {"delta": DEFAULT_DELTA, "alpha": DEFAULT_ALPHA, "run_noise": DEFAULT_RUN_NOISE, "rel_tol": 0.05,
                  "abs_tol": 0.0, "budget": None}
        for rule in BUILTIN_RULES:
            if rule.matches(workload, precision, backend, metric):
                _overlay(values, rule)
        _overlay(values, self.defaults)
        for rule in self.rules:
            if rule.matches(workload, precision, backend, metric):
                _overlay(values, rule)
        hib = any(fnmatchcase(metric, g) for g in (*BUILTIN_HIGHER_IS_BETTER, *self.higher_is_better))
        budget = values["budget"]
        return Threshold(delta=float(values["delta"] or 0.0), alpha=float(values["alpha"] or 0.0),
                         run_noise=float(values["run_noise"] or 0.0), rel_tol=float(values["rel_tol"] or 0.0),
                         abs_tol=float(values["abs_tol"] or 0.0),
                         budget=None if budget is None else float(budget), higher_is_better=hib)


@dataclass(frozen=True)
class Threshold:
    delta: float
    alpha: float
    run_noise: float  # assumed σ_run as a fraction of the median
    rel_tol: float
    abs_tol: float
    budget: float | None
    higher_is_better: bool


def _overlay(values: dict[str, float | None], limits: Limits) -> None:
    for name in ("delta", "alpha", "run_noise", "rel_tol", "abs_tol", "budget"):
        v = getattr(limits, name)
        if v is not None:
            values[name] = v


def higher_is_better(metric: str, extra: tuple[str, ...] = ()) -> bool:
    return any(fnmatchcase(metric, g) for g in (*BUILTIN_HIGHER_IS_BETTER, *extra))
