"""Rig fixtures for the transport tests (tests/rigs/fixtures.py holds them)."""

from tests.rigs.fixtures import adb_device, adb_device_yaml, adb_rig, ssh_device, ssh_device_yaml, sshd_rig

__all__ = ["adb_device", "adb_device_yaml", "adb_rig", "ssh_device", "ssh_device_yaml", "sshd_rig"]
