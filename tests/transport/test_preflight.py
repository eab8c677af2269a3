"""Up-front interpreter check through the rigs: the agent's --probe, errors naming device and fix."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from harness.config.models import DeviceProfile
from harness.errors import HarnessError
from harness.transport.factory import open_transport
from harness.transport.preflight import check_interpreter

pytestmark = pytest.mark.rig
AGENT = Path(__file__).resolve().parents[2] / "harness" / "agent" / "agent.py"


@pytest.fixture(params=["ssh", "adb"])
def device(request: pytest.FixtureRequest) -> DeviceProfile:
    return request.getfixturevalue(f"{request.param}_device")  # type: ignore[no-any-return]


def test_the_rig_interpreter_has_numpy_and_onnxruntime(device: DeviceProfile) -> None:
    with open_transport(device) as t:
        facts = check_interpreter(t, device, t.push(AGENT).remote)
    assert facts["onnxruntime"] and facts["numpy"] and "CPUExecutionProvider" in facts["providers"]


def test_a_python_without_onnxruntime_is_named_with_the_fix(device: DeviceProfile, tmp_path: Path) -> None:
    bare = "/usr/bin/python3"  # Debian's python3: no numpy/onnxruntime in this image
    if not Path(bare).is_file():
        pytest.skip("no system python3 to play a bare device interpreter")
    with open_transport(device) as t:
        agent = t.push(AGENT).remote
        probe = t.exec([bare, "-c", "import onnxruntime"], timeout=60)
        if probe.rc == 0:
            pytest.skip(f"{bare} has onnxruntime here")
        with pytest.raises(HarnessError) as e:
            check_interpreter(t, device, agent, interpreter=bare)
    msg = str(e.value)
    assert device.name in msg and bare in msg and "onnxruntime" in msg and "pip install" in msg


def test_a_missing_interpreter_is_named(device: DeviceProfile) -> None:
    with open_transport(device) as t:
        agent = t.push(AGENT).remote
        with pytest.raises(HarnessError, match="not runnable") as e:
            check_interpreter(t, device, agent, interpreter="/opt/nowhere/bin/python3")
    assert device.name in str(e.value)


def test_sys_executable_is_the_runner_of_the_rig_profiles(device: DeviceProfile) -> None:
    assert device.runner.kind == "python" and device.runner.interpreter == sys.executable
