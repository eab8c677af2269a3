"""Config validation: errors name file:line:col, the field, expected vs got; unknown keys are errors."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from harness.config.loader import load_device, load_devices, load_workload, load_workloads
from harness.errors import ConfigError

REPO = Path(__file__).resolve().parents[2]

GOOD_DEVICE = """\
name: phone
transport:
  kind: adb
  serial: R5CT1234
backends:
  - name: cpu
    provider: CPUExecutionProvider
"""


def write(tmp_path: Path, name: str, text: str) -> Path:
    p = tmp_path / name
    p.write_text(text)
    return p


def test_good_device_parses(tmp_path: Path) -> None:
    prof = load_device(write(tmp_path, "phone.yaml", GOOD_DEVICE))
    assert prof.transport.kind == "adb"
    assert prof.backends[0].provider == "CPUExecutionProvider"


def test_misspelled_key_names_file_line_and_key(tmp_path: Path) -> None:
    bad = GOOD_DEVICE.replace("    provider: CPUExecutionProvider", "    provider: CPUExecutionProvider\n    optoins: {}")
    path = write(tmp_path, "phone.yaml", bad)
    with pytest.raises(ConfigError) as exc:
        load_device(path)
    assert f"{path}:8:5: unknown key 'optoins' at backends[0].optoins (did you mean 'options'?)" in str(exc.value)


def test_an_unknown_key_like_no_field_gets_no_guess(tmp_path: Path) -> None:
    path = write(tmp_path, "phone.yaml", GOOD_DEVICE + "colour: blue\n")
    with pytest.raises(ConfigError) as exc:
        load_device(path)
    assert str(exc.value).endswith("unknown key 'colour' at colour")


def test_wrong_type_says_expected_and_got(tmp_path: Path) -> None:
    path = write(tmp_path, "phone.yaml", GOOD_DEVICE + "threads:\n  intra_op: four\n")
    with pytest.raises(ConfigError) as exc:
        load_device(path)
    msg = str(exc.value)
    assert f"{path}:9:13" in msg and "threads.intra_op" in msg and "integer" in msg and "'four'" in msg


def test_wrong_discriminator_and_missing_field(tmp_path: Path) -> None:
    path = write(tmp_path, "phone.yaml", "name: phone\ntransport:\n  kind: ssh\nbackends: []\n")
    with pytest.raises(ConfigError) as exc:
        load_device(path)
    msg = str(exc.value)
    assert "transport.host" in msg and "missing" in msg
    assert "backends" in msg


def test_duplicate_key_is_an_error(tmp_path: Path) -> None:
    path = write(tmp_path, "phone.yaml", GOOD_DEVICE + "name: other\n")
    with pytest.raises(ConfigError, match=r"phone.yaml:8:1: duplicate key 'name'"):
        load_device(path)


def test_invalid_yaml_has_position(tmp_path: Path) -> None:
    path = write(tmp_path, "phone.yaml", "name: [unclosed\n")
    with pytest.raises(ConfigError, match=r"phone.yaml:2:1: invalid YAML"):
        load_device(path)


def test_yaml_is_safe_load_only(tmp_path: Path) -> None:
    path = write(tmp_path, "phone.yaml", "name: !!python/object/apply:os.system ['true']\n")
    with pytest.raises(ConfigError):
        load_device(path)


def test_workload_budget_precision_must_be_known(tmp_path: Path) -> None:
    path = write(tmp_path, "w.yaml", "name: w\nkind: generic\nmodel: {path: m.onnx}\n"
                 "inputs: [{name: x, shape: [1, 4]}]\nbudgets:\n  fp8: {rel_l2: 0.1}\n")
    with pytest.raises(ConfigError, match="budgets.fp8"):
        load_workload(path)


def test_shipped_profiles_and_workloads_validate() -> None:
    devices = load_devices(REPO / "devices")
    assert "local" in devices and not devices["local"][0].example
    load_workloads(REPO / "workloads")


def test_validate_command_exit_codes(tmp_path: Path) -> None:
    bad = write(tmp_path, "devices_bad.yaml", GOOD_DEVICE.replace("serial:", "serail:"))
    proc = subprocess.run([sys.executable, "-m", "harness", "validate", str(bad)], capture_output=True, text=True)
    assert proc.returncode == 1
    assert "serail" in proc.stderr and f"{bad}:4:3" in proc.stderr
    good = write(tmp_path, "devices_good.yaml", GOOD_DEVICE)
    proc = subprocess.run([sys.executable, "-m", "harness", "validate", str(good)], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
