"""Protocol 1's handoff, alike in every runner (the agent, the native x86_64 build, the aarch64 bundle
under qemu): a job given on stdin with ``handoff_s`` announces its first warm-up and holds it until the
host says ``go`` (or stdin closes, or handoff_s passes), so the host can start the next cell's runner
while no steady window is running."""

from __future__ import annotations

import json
import queue
import subprocess
import threading
import time
from pathlib import Path
from typing import Any

import pytest

from harness.builds.runner import RunnerBuild
from harness.protocol import GO, JOB_FROM_STDIN, READY, WARM_UP, Job, parse_result
from tests.rigs.qemu import in_arm_namespace
from tests.runner.jobs import KindCase, agent_argv, make_cases, make_job, run, write_job

RUNNERS = ["agent", pytest.param("native", marks=pytest.mark.slow),
           pytest.param("aarch64", marks=[pytest.mark.slow, pytest.mark.rig])]  # the phone bundle, under qemu
LINE_WAIT_S = 120.0


@pytest.fixture(scope="module")
def single(tmp_path_factory: pytest.TempPathFactory) -> KindCase:
    return make_cases(tmp_path_factory.mktemp("kinds"))["single"]


def runner_argv(who: str, request: pytest.FixtureRequest) -> list[str]:
    if who == "agent":
        return agent_argv()
    build: RunnerBuild = request.getfixturevalue("x86_runner" if who == "native" else "aarch64_runner")
    argv = ["sh", str(build.path / "run.sh")]
    return argv if who == "native" else in_arm_namespace(argv, request.getfixturevalue("arm_cpuinfo"))


class Talk:
    """A runner started with --job-from-stdin, its stdout read line by line as the host does."""

    def __init__(self, argv: list[str]) -> None:
        self.proc = subprocess.Popen([*argv, JOB_FROM_STDIN], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                     stderr=subprocess.PIPE, text=True)
        self.lines: queue.Queue[str | None] = queue.Queue()
        self.seen: list[str] = []
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self.lines.put(line.strip())
        self.lines.put(None)

    def next_line(self) -> str | None:
        line = self.lines.get(timeout=LINE_WAIT_S)
        if line is not None:
            self.seen.append(line)
        return line

    def say(self, text: str, *, close: bool = False) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.write(text)
        self.proc.stdin.flush()
        if close:
            self.proc.stdin.close()

    def finish(self) -> tuple[int, str]:
        assert self.proc.stdin is not None and self.proc.stderr is not None
        if not self.proc.stdin.closed:
            self.proc.stdin.close()
        rc = self.proc.wait(LINE_WAIT_S)
        while self.next_line() is not None:
            pass
        return rc, self.proc.stderr.read()


def start(who: str, request: pytest.FixtureRequest, job: dict[str, Any]) -> Talk:
    path = write_job(job)
    talk = Talk(runner_argv(who, request))
    assert talk.next_line() == READY
    talk.say(f"{path}\n")
    return talk


def result_of(job: dict[str, Any]) -> dict[str, Any]:
    result = json.loads((Path(job["out_dir"]) / "result.json").read_text())
    parse_result(result, Job.model_validate(job))
    return result


@pytest.mark.parametrize("who", RUNNERS)
def test_the_first_warm_up_is_held_until_go(who: str, single: KindCase, tmp_path: Path,
                                            request: pytest.FixtureRequest) -> None:
    job = make_job(single, tmp_path / "out", handoff_s=60.0)
    talk = start(who, request, job)
    assert talk.next_line() == WARM_UP
    time.sleep(0.6)  # the host starting the next runner
    go_at = time.monotonic()
    talk.say(GO + "\n", close=True)
    rc, err = talk.finish()
    assert rc == 0, err
    r = result_of(job)
    assert r["status"] == "ok" and talk.seen == [READY, WARM_UP]
    assert 0.5 <= r["held_s"] < 30 and r["held_s"] <= r["measure_s"]
    first, second = r["windows"]["latency_ms@b1"], r["windows"]["latency_ms@b4"]
    assert first[0] > go_at and second[0] >= first[1]  # no steady window before go
    assert r["series"]["latency_ms@b1"]["warmup_n"] > 2  # warmed up while held, and once after go
    assert r["series"]["latency_ms@b4"]["warmup_n"] == job["measure"]["warmup"]  # only the first is held


@pytest.mark.parametrize("who", RUNNERS)
def test_stdin_closed_or_handoff_s_passed_ends_the_hold(who: str, single: KindCase, tmp_path: Path,
                                                        request: pytest.FixtureRequest) -> None:
    closed = make_job(single, tmp_path / "closed", handoff_s=60.0)
    talk = start(who, request, closed)
    assert talk.next_line() == WARM_UP
    talk.say("", close=True)  # a host gone: nobody will answer
    rc, err = talk.finish()
    assert rc == 0, err
    assert result_of(closed)["held_s"] < 30

    bounded = make_job(single, tmp_path / "bounded", handoff_s=0.5)
    talk = start(who, request, bounded)
    assert talk.next_line() == WARM_UP  # then silence, stdin open until the runner is done
    talk.proc.wait(LINE_WAIT_S)
    rc, err = talk.finish()
    r = result_of(bounded)
    assert rc == 0 and r["status"] == "ok" and 0.45 <= r["held_s"] < 30


@pytest.mark.parametrize("who", RUNNERS)
def test_a_job_named_in_argv_never_hands_off(who: str, single: KindCase, tmp_path: Path,
                                             request: pytest.FixtureRequest) -> None:
    job = make_job(single, tmp_path / "out", handoff_s=60.0)
    ran = run(runner_argv(who, request), job)  # nobody could answer: the field is ignored
    assert ran.rc == 0 and ran.result is not None and ran.result["held_s"] == 0.0
    no_handoff = make_job(single, tmp_path / "stdin")
    talk = start(who, request, no_handoff)
    rc, err = talk.finish()
    assert rc == 0 and talk.seen == [READY] and result_of(no_handoff)["held_s"] == 0.0, err


@pytest.mark.parametrize("who", RUNNERS)
def test_a_host_gone_before_ready_is_no_crash(who: str, single: KindCase, tmp_path: Path,
                                              request: pytest.FixtureRequest) -> None:
    """Nobody reads stdout any more (a host killed during the runner's start-up): the protocol
    lines fall on a broken pipe, and the job that was already given still runs to its result."""
    job = make_job(single, tmp_path / "out", handoff_s=60.0)
    path = write_job(job)
    proc = subprocess.Popen([*runner_argv(who, request), JOB_FROM_STDIN], stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    assert proc.stdout is not None and proc.stdin is not None
    proc.stdout.close()
    proc.stdin.write(f"{path}\n")
    proc.stdin.close()  # and no "go" will come: EOF ends the hold
    rc = proc.wait(LINE_WAIT_S)
    assert proc.stderr is not None
    assert rc == 0, proc.stderr.read()
    assert result_of(job)["status"] == "ok"
