"""The native runner targets, as a type: light on purpose (`harness runner --help` names them)."""

from typing import Literal, get_args

RunnerTarget = Literal["linux-x86_64", "linux-aarch64", "android-arm64"]  # `harness runner build --target`
TARGETS: tuple[str, ...] = get_args(RunnerTarget)
