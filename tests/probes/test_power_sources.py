"""Each power source: real output format in, watts out, with the source's units and sign."""

from __future__ import annotations

import numpy as np
import pytest

from harness.config.probes import PowerConfig
from harness.probes import battery, external, ina3221, pi_pmic, powermetrics, rapl, tegrastats
from harness.probes.power import PowerPlan
from tests.probes import formats


def rec(ts, vs, error=None):
    return {"t": list(ts), "v": [str(v) for v in vs], "overhead_s": 0.0, "error": error}


# ---------------------------------------------------------------------------- battery
@pytest.mark.parametrize(
    ("cur_unit", "raw_i", "volt_unit", "raw_v", "sign", "watts"),
    [
        ("uA", -412000, "uV", 3987000, -1, 0.412 * 3.987),  # kernel units, negative while discharging
        ("uA", 412000, "uV", 3987000, 1, 0.412 * 3.987),  # kernel units, positive while discharging
        ("mA", -412, "mV", 3987, -1, 0.412 * 3.987),  # vendors that report mA / mV
        ("A", 0.5, "V", 4.0, 1, 2.0),
    ],
)
def test_battery_units_and_sign(cur_unit, raw_i, volt_unit, raw_v, sign, watts):
    cfg = PowerConfig(
        source="battery", current_unit=cur_unit, voltage_unit=volt_unit, discharge_sign=sign, charging_disabled=True
    )
    got = battery.watts(np.array([raw_i], float), np.array([raw_v], float), cfg)
    assert got[0] == pytest.approx(watts)


def test_battery_parse_pairs_current_with_voltage_at_its_time():
    cfg = PowerConfig(source="battery", discharge_sign=-1, charging_disabled=True)
    pp = battery.plan(cfg, None)
    probes = {
        "power.current": rec([1.0, 2.0, 3.0], [-1000000, -2000000, "garbage"]),
        "power.voltage": rec([0.5, 2.5], [4000000, 3000000]),
    }
    s = battery.parse(cfg, pp, probes)
    # voltage at t=1.0 and t=2.0 interpolated between 4.0 V and 3.0 V
    assert s.t.tolist() == [1.0, 2.0]
    assert s.w == pytest.approx([1.0 * 3.75, 2.0 * 3.25])
    assert not s.errors


def test_battery_with_charging_enabled_is_flagged_and_says_so():
    pp = battery.plan(PowerConfig(source="battery"), None)
    assert "CHARGING NOT DISABLED" in pp.detail
    assert any("charging enabled" in e for e in pp.errors)


def test_battery_reading_as_charging_is_flagged():
    cfg = PowerConfig(source="battery", discharge_sign=1, charging_disabled=True)
    probes = {"power.current": rec([1, 2], [-500000, -500000]), "power.voltage": rec([1, 2], [4e6, 4e6])}
    s = battery.parse(cfg, battery.plan(cfg, None), probes)
    assert any("charging" in e for e in s.errors)


# ---------------------------------------------------------------------------- ina3221
def test_ina3221_rail_found_by_label_on_device_then_mw_times_ma(dev, local):
    hw = "/sys/bus/i2c/drivers/ina3221/1-0040/hwmon/hwmon7"  # the hwmon number moves between boots
    for n, label in ((1, "VDD_IN"), (2, "VDD_CPU_GPU_CV"), (3, "VDD_SOC")):
        dev.write(f"{hw}/in{n}_label", label)
        dev.write(f"{hw}/in{n}_input", 5000 - n)
        dev.write(f"{hw}/curr{n}_input", 1000 * n)
    cfg = PowerConfig(source="ina3221", rail="VDD_CPU_GPU_CV", hwmon_glob=dev.path("/sys/bus/i2c/drivers/ina3221/*/hwmon/hwmon*"))
    pp = ina3221.plan(cfg, local)
    assert not pp.errors
    assert pp.ctx["current_path"].endswith("hwmon7/curr2_input")
    assert pp.ctx["voltage_path"].endswith("hwmon7/in2_input")
    s = ina3221.parse(cfg, pp, {"power.current": rec([1.0], [2000]), "power.voltage": rec([1.0], [4998])})
    assert s.w == pytest.approx([2.0 * 4.998])  # 2000 mA x 4998 mV


def test_ina3221_missing_rail_lists_labels(dev, local):
    dev.write("/sys/bus/i2c/drivers/ina3221/1-0040/hwmon/hwmon0/in1_label", "VDD_IN")
    cfg = PowerConfig(source="ina3221", rail="VDD_GPU", hwmon_glob=dev.path("/sys/bus/i2c/drivers/ina3221/*/hwmon/hwmon*"))
    pp = ina3221.plan(cfg, local)
    assert not pp.specs and "VDD_GPU" in pp.errors[0] and "VDD_IN" in pp.errors[0]


# ---------------------------------------------------------------------------- tegrastats
def test_tegrastats_orin_and_xavier_lines():
    assert tegrastats.parse_line(formats.TEGRASTATS_ORIN_NANO, "VDD_IN") == pytest.approx(5.118)
    assert tegrastats.parse_line(formats.TEGRASTATS_ORIN_NANO, "VDD_SOC") == pytest.approx(1.433)
    assert tegrastats.parse_line(formats.TEGRASTATS_XAVIER, "VDD_IN") == pytest.approx(3.828)
    assert tegrastats.parse_line(formats.TEGRASTATS_XAVIER, "VDD_GPU") is None
    assert tegrastats.parse_temps(formats.TEGRASTATS_ORIN_NANO)["tj"] == 47.5


def test_tegrastats_rail_name_is_not_a_prefix_match():
    # VDD_IN must not match inside another rail's name
    assert tegrastats.parse_line("XVDD_IN 100mW/100mW", "VDD_IN") is None


def test_tegrastats_stream_parse():
    cfg = PowerConfig(source="tegrastats", rail="VDD_IN")
    lines = [formats.TEGRASTATS_ORIN_NANO, "noise", formats.TEGRASTATS_ORIN_NANO.replace("5118mW/", "6000mW/")]
    s = tegrastats.parse(cfg, tegrastats.plan(cfg, None), {"power.stream": rec([1, 2, 3], lines)})
    assert s.t.tolist() == [1, 3] and s.w == pytest.approx([5.118, 6.0])
    assert tegrastats.plan(cfg, None).specs[0]["argv"] == ["tegrastats", "--interval", "100"]


# ---------------------------------------------------------------------------- Raspberry Pi 5 PMIC
def test_pmic_pairs_current_and_voltage_by_rail():
    rails = pi_pmic.parse_adc(formats.PMIC_READ_ADC)
    assert rails["VDD_CORE"] == pytest.approx(0.71758 * 0.720462)
    assert "EXT5V" not in rails and "BATT" not in rails  # voltage-only lines have no pair
    assert len(rails) == 12
    total = pi_pmic.total_watts(formats.PMIC_READ_ADC, None)
    assert total == pytest.approx(sum(rails.values()))
    assert 1.0 < total < 2.0
    assert pi_pmic.total_watts(formats.PMIC_READ_ADC, "VDD_CORE_A") == pytest.approx(rails["VDD_CORE"])


def test_pmic_through_fake_vcgencmd_on_the_device(dev, local):
    dev.command("vcgencmd", f"cat <<'OUT'\n{formats.PMIC_READ_ADC}OUT\n")
    cfg = PowerConfig(source="pi5-pmic", rail="VDD_CORE")
    pp = pi_pmic.plan(cfg, local)
    out = local.exec(pp.specs[0]["argv"]).stdout
    s = pi_pmic.parse(cfg, pp, {"power.pmic": rec([1.0], [out])})
    assert s.w == pytest.approx([0.71758 * 0.720462])


# ---------------------------------------------------------------------------- powermetrics
def test_powermetrics_combined_mw_to_w_one_value_per_block():
    cfg = PowerConfig(source="powermetrics", interval_s=1.0)
    lines = (formats.POWERMETRICS_BLOCK * 2).splitlines()
    s = powermetrics.parse(cfg, powermetrics.plan(cfg, None), {"power.stream": rec(range(len(lines)), lines)})
    assert s.w == pytest.approx([2.357, 2.357])
    gpu = PowerConfig(source="powermetrics", rail="GPU", interval_s=1.0)
    s = powermetrics.parse(gpu, powermetrics.plan(gpu, None), {"power.stream": rec(range(len(lines)), lines)})
    assert s.w == pytest.approx([0.012, 0.012])  # not counted twice per block
    # a value covers the interval that just ended: placed at its midpoint
    first = lines.index("Combined Power (CPU + GPU + ANE): 2357 mW")
    s = powermetrics.parse(cfg, None, {"power.stream": rec([10.0 + i for i in range(len(lines))], lines)})
    assert s.t[0] == pytest.approx(10.0 + first - 0.5)


# ---------------------------------------------------------------------------- RAPL
def test_rapl_wraparound_at_max_energy_range(dev, local):
    max_range = 262143328850
    dev.write("/sys/class/powercap/intel-rapl:0/max_energy_range_uj", max_range)
    cfg = PowerConfig(source="rapl", energy_path=dev.path("/sys/class/powercap/intel-rapl:0/energy_uj"))
    pp = rapl.plan(cfg, local)
    assert pp.ctx["max_range_uj"] == max_range and not pp.errors
    # 10 W for 3 steps of 0.5 s = 5 J = 5e6 uJ per step; the counter wraps between reads 2 and 3
    e0 = max_range - 7_000_000
    raw = [e0, e0 + 5_000_000, (e0 + 10_000_000) - max_range, (e0 + 15_000_000) - max_range]
    s = rapl.parse(cfg, pp, {"power.energy": rec([0.0, 0.5, 1.0, 1.5], raw)})
    assert s.w == pytest.approx([10.0, 10.0, 10.0])
    assert s.t == pytest.approx([0.25, 0.75, 1.25])


def test_rapl_without_max_range_is_flagged(dev, local):
    cfg = PowerConfig(source="rapl", energy_path=dev.path("/sys/class/powercap/intel-rapl:0/energy_uj"))
    assert "wrap-around" in rapl.plan(cfg, local).errors[0]


# ---------------------------------------------------------------------------- external meter
@pytest.mark.parametrize(("unit", "scale"), [("W", 1.0), ("mW", 1e-3)])
def test_external_meter_lines(unit, scale):
    cfg = PowerConfig(source="command", argv=["meter"], command_unit=unit)
    lines = ["time,watts", "1700000000.1 2.5", "3.5", "", "12.0, 4.0"]
    s = external.parse(cfg, external.plan(cfg, None), {"power.stream": rec([1, 2, 3, 4, 5], lines)})
    assert s.t.tolist() == [2, 3, 5]
    assert s.w == pytest.approx([2.5 * scale, 3.5 * scale, 4.0 * scale])


def test_quality_tiers_default_per_source_and_override():
    assert PowerConfig(source="command", argv=["m"]).tier == "external"
    assert PowerConfig(source="ina3221", rail="VDD_IN").tier == "rail"
    assert PowerConfig(source="battery").tier == "battery"
    assert PowerConfig(source="powermetrics").tier == "estimate"
    assert PowerConfig(source="battery", quality="external").tier == "external"
    assert PowerConfig().tier == "none"


def test_power_plan_dataclass_defaults():
    assert PowerPlan("x", "rail").specs == []


@pytest.mark.parametrize(
    ("status", "cur", "volt", "want"),
    [
        ("Discharging", "-412000", "3987000", {"current_unit": "uA", "voltage_unit": "uV", "discharge_sign": -1}),
        ("Discharging", "412", "3987", {"current_unit": "mA", "voltage_unit": "mV", "discharge_sign": 1}),
        ("Charging", "900000", "4300000", {"current_unit": "uA", "voltage_unit": "uV"}),
    ],
)
def test_battery_convention_suggested_from_the_device(dev, local, status, cur, volt, want):
    for name, value in (("status", status), ("current_now", cur), ("voltage_now", volt)):
        dev.write(f"/sys/class/power_supply/battery/{name}", value)
    got = battery.suggest_convention(local, dev.path("/sys/class/power_supply/battery"))
    assert {k: got[k] for k in want} == want
    assert ("discharge_sign" in got) == (status == "Discharging")
