"""Every transport pulls only regular files and never more than the caller allows (local, and
ssh / adb against the real sshd and the adbd rig behind the real adb server)."""

from __future__ import annotations

import os
import posixpath
from collections.abc import Iterator
from pathlib import Path

import pytest

from harness.transport.base import PullRefused, RemoteFileMissing, Transport
from harness.transport.factory import open_transport
from harness.transport.local import LocalTransport


@pytest.fixture(params=["local", pytest.param("ssh", marks=pytest.mark.rig), pytest.param("adb", marks=pytest.mark.rig)])
def device(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Transport]:
    if request.param == "local":
        t: Transport = LocalTransport(str(tmp_path / "dev"))
    else:
        t = open_transport(request.getfixturevalue(f"{request.param}_device"))
    yield t
    t.close()


def test_only_regular_files_within_the_limit_are_pulled(device: Transport, tmp_path: Path) -> None:
    folder = posixpath.join(device.workdir, "pulltest")
    device.makedirs(folder)
    # every rig's "device" is this machine: make the odd files with the device's own shell
    script = ('cd "$1" && printf 12345 > small && head -c 100000 /dev/zero > big && ln -sf /dev/zero zero '
              '&& ln -sf small link && rm -f fifo && mkfifo fifo && mkdir -p dir')
    assert device.exec(["sh", "-c", script, "sh", folder], timeout=30).rc == 0
    local = tmp_path / "got"
    device.pull(posixpath.join(folder, "small"), local, max_bytes=5)
    assert local.read_bytes() == b"12345"
    for name, why in (("big", "limit"), ("zero", "not a regular file"), ("link", "not a regular file"),
                      ("fifo", "not a regular file"), ("dir", "not a regular file")):
        with pytest.raises(PullRefused, match=why):
            device.pull(posixpath.join(folder, name), tmp_path / name, max_bytes=1000)
        assert not (tmp_path / name).exists() and not any(p.name.endswith(".part") for p in tmp_path.iterdir())
    with pytest.raises(RemoteFileMissing):
        device.pull(posixpath.join(folder, "absent"), tmp_path / "absent", max_bytes=1000)
    device.exec(["rm", "-rf", folder], timeout=30)
    assert os.path.exists(local)
