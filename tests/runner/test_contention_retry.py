"""Both runners measure a steady window again while other processes take the cores (one protocol)."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from harness.analysis.flags import CONTENTION_CORES
from harness.builds.runner import RunnerBuild
from harness.protocol import parse_result
from tests.rigs.cpu_hogs import hog_on_every_core
from tests.runner.jobs import FAST, KindCase, agent_argv, launcher, make_cases, make_job, run

pytestmark = pytest.mark.slow  # builds the native runner (cached across sessions)

@pytest.fixture(scope="module")
def single(tmp_path_factory: pytest.TempPathFactory) -> KindCase:
    return make_cases(tmp_path_factory.mktemp("contention-cases"))["single"]


@pytest.fixture
def busy_host() -> Iterator[None]:
    with hog_on_every_core():
        time.sleep(0.3)
        yield


@pytest.mark.parametrize("who", ["agent", "native"])
def test_a_busy_window_is_measured_again_a_bounded_number_of_times(who: str, single: KindCase, x86_runner: RunnerBuild,
                                                                   busy_host: None, tmp_path: Path) -> None:
    measure = dict(FAST, min_seconds=0.2, contention_cores=CONTENTION_CORES, contention_retries=2)
    argv = agent_argv() if who == "agent" else launcher(x86_runner)
    ran = run(argv, make_job(single, tmp_path / who, measure=measure))
    assert ran.rc == 0 and ran.result is not None, ran.stderr
    result = parse_result(ran.result)  # the protocol's own model: retries is part of it
    assert result.load is not None
    assert result.load.retries == {"latency_ms@b1": 2, "latency_ms@b4": 2}  # busy all along: bounded
    assert set(ran.result["load"]["windows"]) == set(ran.result["load"]["retries"])


@pytest.mark.parametrize("who", ["agent", "native"])
def test_no_limit_no_retries(who: str, single: KindCase, x86_runner: RunnerBuild, tmp_path: Path) -> None:
    argv = agent_argv() if who == "agent" else launcher(x86_runner)
    ran = run(argv, make_job(single, tmp_path / who))
    assert ran.rc == 0 and ran.result is not None, ran.stderr
    assert "retries" not in ran.result["load"]
