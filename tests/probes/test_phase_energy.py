"""Energy per unit of work of groups of steady windows (probes.phase_energy), on a fuel gauge's raw
readings: an llm cell's tg windows over the tokens generated in them, its pp windows over the prompt
tokens (session.llm_cell.token_groups), each net of the idle window."""

from __future__ import annotations

from typing import Any

import pytest

from harness.config.probes import ProbesConfig
from harness.probes import battery
from harness.probes.hooks import ProbePlan
from harness.probes.phase_energy import WindowGroup, group_energy
from harness.session.llm_cell import token_groups

VOLT_UV = 4_000_000
# device time -> current drawn (µA, positive = discharging here): idle 0.25 A, prefill 1.0 A, decode 0.75 A
STEPS = [((0.0, 1.0), 250_000), ((1.0, 2.0), 1_000_000), ((2.0, 4.0), 750_000)]
WINDOWS = {"idle": [0.0, 0.95], "pp64@d0": [1.05, 1.95], "tg4@d0": [2.05, 3.95]}
SERIES = {"pp64@d0": {"samples": [100.0] * 10}, "tg4@d0": {"samples": [50.0] * 25},
          "ttft64_ms": {"samples": [1.0] * 10}}


def _probes() -> dict[str, Any]:
    t = [i / 100 for i in range(400)]
    amps = [next(ua for (a, b), ua in STEPS if a <= x < b) for x in t]
    return {"power.current": {"t": t, "v": [str(a) for a in amps]},
            "power.voltage": {"t": t, "v": [str(VOLT_UV)] * len(t)}}


def _setup() -> tuple[ProbesConfig, ProbePlan]:
    cfg = ProbesConfig.model_validate({"power": {"source": "battery", "charging_disabled": True, "interval_s": 0.01}})
    return cfg, ProbePlan(power=battery.plan(cfg.power, None))  # type: ignore[arg-type]  # plan reads nothing


def test_token_groups_split_an_llm_result_by_phase() -> None:
    groups = token_groups(SERIES)
    assert groups == {"energy_mj_per_token@tg": WindowGroup(["tg4@d0"], 100, "generated tokens"),
                      "energy_mj_per_token@pp": WindowGroup(["pp64@d0"], 640, "prompt tokens")}


def test_each_phase_gets_its_windows_net_energy_over_its_tokens() -> None:
    cfg, plan = _setup()
    got = group_energy(cfg, plan, {"probes": _probes(), "windows": WINDOWS}, token_groups(SERIES))
    values = {m.name: m for m in got.metrics}
    # (W in window - idle W) x window length / tokens, in mJ: 4 V x (0.75 - 0.25) A x 1.9 s / 100 tokens
    assert values["energy_mj_per_token@tg"].value == pytest.approx(4.0 * 0.5 * 1.9 / 100 * 1000)
    assert values["energy_mj_per_token@pp"].value == pytest.approx(4.0 * 0.75 * 0.9 / 640 * 1000)
    assert "net of idle" in values["energy_mj_per_token@tg"].method
    assert "100 generated tokens" in values["energy_mj_per_token@tg"].method
    assert set(got.samples) == set(values)


def test_without_idle_it_is_gross_and_without_a_source_or_work_nothing() -> None:
    cfg, plan = _setup()
    no_idle = {k: v for k, v in WINDOWS.items() if k != "idle"}
    got = group_energy(cfg, plan, {"probes": _probes(), "windows": no_idle}, token_groups(SERIES))
    tg = next(m for m in got.metrics if m.name == "energy_mj_per_token@tg")
    assert tg.value == pytest.approx(4.0 * 0.75 * 1.9 / 100 * 1000) and "gross" in tg.method
    assert group_energy(cfg, ProbePlan(), {"probes": _probes(), "windows": WINDOWS}, token_groups(SERIES)).metrics == []
    none = group_energy(cfg, plan, {"probes": _probes(), "windows": WINDOWS},
                        {"x": WindowGroup(["tg4@d0"], 0, "tokens"), "y": WindowGroup(["absent"], 5, "tokens")})
    assert none.metrics == []
