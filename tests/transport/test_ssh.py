"""SSH specifics against the real sshd rig: config honoured, host keys verified, Ctrl-C, ProxyJump."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from harness.config.models import SshTransportConfig
from harness.errors import HarnessError, TransportError
from harness.transport.ssh import SshTransport
from tests.rigs.fixtures import ssh_profile_data
from tests.rigs.sshd import SshdRig, keygen

pytestmark = pytest.mark.rig


def transport(rig: SshdRig, name: str = "rig-ssh", **over: Any) -> SshTransport:
    return SshTransport(SshTransportConfig(**ssh_profile_data(rig, **over)["transport"]), name)


def test_explicit_fields_work_without_any_ssh_config(sshd_rig: SshdRig, tmp_path: Path) -> None:
    t = transport(sshd_rig, host="127.0.0.1", port=sshd_rig.port, user=sshd_rig.user,
                  identity_file=str(sshd_rig.user_key), ssh_config=str(tmp_path / "none"))
    with t:
        assert t.exec(["echo", "hi"], timeout=30).stdout == "hi\n"


def test_unknown_host_key_is_refused_naming_device_and_host(sshd_rig: SshdRig, tmp_path: Path) -> None:
    empty = tmp_path / "known_hosts"
    with transport(sshd_rig, "pi-lab-3", known_hosts=str(empty)) as t, pytest.raises(HarnessError) as e:
        t.exec(["true"], timeout=30)
    msg = str(e.value)
    assert "pi-lab-3" in msg and "rig-board" in msg and "unknown host key" in msg and "trust_host_key" in msg
    assert not isinstance(e.value, TransportError)  # deterministic: no retry
    assert not empty.exists()


def test_trust_host_key_accepts_an_unknown_key_once_and_records_it(sshd_rig: SshdRig, tmp_path: Path) -> None:
    kh = tmp_path / "known_hosts"
    with transport(sshd_rig, known_hosts=str(kh), trust_host_key=True) as t:
        assert t.exec(["true"], timeout=30).rc == 0
    assert f"[127.0.0.1]:{sshd_rig.port} ssh-ed25519" in kh.read_text()
    with transport(sshd_rig, known_hosts=str(kh)) as t:  # now known: no trust needed
        assert t.exec(["true"], timeout=30).rc == 0


def test_a_changed_host_key_is_refused_even_when_trusting(sshd_rig: SshdRig, tmp_path: Path) -> None:
    other = keygen(tmp_path / "other", sshd_rig.keygen_bin)
    kh = tmp_path / "known_hosts"
    typ, key = Path(f"{other}.pub").read_text().split()[:2]
    kh.write_text(f"[127.0.0.1]:{sshd_rig.port} {typ} {key}\n")
    with transport(sshd_rig, "jetson-7", known_hosts=str(kh), trust_host_key=True) as t, \
            pytest.raises(HarnessError, match="CHANGED") as e:
        t.exec(["true"], timeout=30)
    assert "jetson-7" in str(e.value) and "ssh-keygen -R" in str(e.value)


def test_a_refused_key_is_a_clear_non_retryable_error(sshd_rig: SshdRig, tmp_path: Path) -> None:
    stranger = keygen(tmp_path / "stranger", sshd_rig.keygen_bin)
    t = transport(sshd_rig, host="127.0.0.1", port=sshd_rig.port, user=sshd_rig.user,
                  identity_file=str(stranger), ssh_config=str(tmp_path / "none"))
    with t, pytest.raises(HarnessError, match="key authentication refused") as e:
        t.exec(["true"], timeout=30)
    assert not isinstance(e.value, TransportError)


def test_proxy_jump_goes_through_the_jump_host(sshd_rig: SshdRig, tmp_path: Path) -> None:
    assert sshd_rig.proxy
    before = sshd_rig.proxy.connections
    # target: sshd directly (as the jump host sees it); jump: through the proxy port
    t = transport(sshd_rig, host="127.0.0.1", port=sshd_rig.sshd_port, user=sshd_rig.user,
                  identity_file=str(sshd_rig.user_key), ssh_config=str(tmp_path / "none"),
                  proxy_jump=f"{sshd_rig.user}@127.0.0.1:{sshd_rig.port}")
    with t:
        assert t.exec(["echo", "via-jump"], timeout=30).stdout == "via-jump\n"
    assert sshd_rig.proxy.connections == before + 1



def test_proxy_jump_declared_in_ssh_config(sshd_rig: SshdRig, tmp_path: Path) -> None:
    assert sshd_rig.proxy
    cfg = tmp_path / "ssh_config"
    common = (f"  User {sshd_rig.user}\n  IdentityFile {sshd_rig.user_key}\n"
              f"  UserKnownHostsFile {sshd_rig.known_hosts}\n")
    cfg.write_text(f"Host lab-gateway\n  HostName 127.0.0.1\n  Port {sshd_rig.port}\n{common}"
                   f"Host pi-behind-gateway\n  HostName 127.0.0.1\n  Port {sshd_rig.sshd_port}\n"
                   f"  ProxyJump lab-gateway\n{common}")
    before = sshd_rig.proxy.connections
    with transport(sshd_rig, host="pi-behind-gateway", ssh_config=str(cfg)) as t:
        assert t.exec(["echo", "via-config-jump"], timeout=30).stdout == "via-config-jump\n"
    assert sshd_rig.proxy.connections == before + 1
