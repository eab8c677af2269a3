"""One bad part never takes the run down: a cell that raises is a failed cell (type, message,
traceback), a model that cannot be built fails its own workload's cells, --resume runs with the
configuration stored with the run, shard specs that do not fit are refused, secrets are masked."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import onnx
import pytest
import yaml
from sqlalchemy import text, update

from harness.errors import HarnessError
from harness.farm.night import shard_conflict
from harness.farm.selection import Shard
from harness.plan import Filters
from harness.results import schema as S
from harness.results.exporters import RunBundle, export
from harness.results.store import Store
from harness.session.launch import RunRequest, execute, prepare_resume, prepare_run
from harness.transport.remote_shell import wrapped_exec
from tests.hardening.conftest import REPO, TINY, local_device, write_profile, write_workloads


@pytest.mark.slow
def test_an_unbuildable_model_fails_its_own_cells_only(tmp_path: Path, cli_env) -> None:  # type: ignore[no-untyped-def]
    wl = write_workloads(tmp_path / "workloads", {**TINY, "name": "broken", "model": {"path": "broken.onnx"}})
    # a graph `harness validate` accepts (its inputs are the workload's) whose weights are gone: found only when
    # the build loads it (a model that is not ONNX at all, or whose inputs disagree, is refused before the run)
    onnx.save_model(onnx.load(str(wl / "tiny.onnx")), str(wl / "broken.onnx"), save_as_external_data=True,
                    location="broken.data", size_threshold=0)
    (wl / "broken.data").unlink()
    device = write_profile(tmp_path, local_device(tmp_path, "iso"))
    res = subprocess.run([sys.executable, "-m", "harness", "run", "-d", str(device), "--workloads-dir", str(wl),
                          "--report-dir", str(tmp_path / "report")], cwd=REPO, env=cli_env, capture_output=True,
                         text=True, timeout=600)
    assert res.returncode == 1, res.stdout[-3000:] + res.stderr[-3000:]  # 1: a cell failed (the run finished)
    store = Store(cli_env["HARNESS_STORE"])
    run = store.list_runs()[0]
    assert run["status"] == "finished" and (tmp_path / "report" / "index.html").is_file()
    cells = store.cells_frame([run["run_id"]]).set_index("workload")
    assert cells.loc["tiny", "status"] == "ok"
    broken = cells.loc["broken"]
    assert broken["status"] == "failed" and "workload broken could not be built" in broken["error"]
    assert "broken.data" in broken["error"]  # why
    assert f"failed iso/broken/fp32/cpu: {broken['error'][:40]}" in " ".join(res.stdout.split())  # said, as text


def test_a_cell_that_raises_is_a_failed_cell_and_the_others_go_on(tmp_path: Path,
                                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    """Fault injection: the first cell's fidelity step raises a bug-like exception (not a HarnessError)."""
    from harness.session import device_session

    wl = write_workloads(tmp_path / "workloads", {**TINY, "name": "second"})
    device = write_profile(tmp_path, local_device(tmp_path, "iso2"))
    store = Store(tmp_path / "i.db")
    prep = prepare_run(RunRequest(filters=Filters(), device_files=[device], workloads_dir=wl,
                                  builds_root=tmp_path / "builds"), store)
    real, calls = device_session.fidelity_metrics, []

    def flaky(*args, **kwargs):  # type: ignore[no-untyped-def]
        calls.append(1)
        if len(calls) == 1:
            raise KeyError("[/]bad key")
        return real(*args, **kwargs)

    monkeypatch.setattr(device_session, "fidelity_metrics", flaky)
    outcome = execute(prep)
    assert store.get_run(prep.run_id)["status"] == "finished" and dict(outcome.statuses) == {"ok": 1, "failed": 1}
    (bad,) = store.cells_frame([prep.run_id]).query("status == 'failed'").itertuples()
    assert bad.error == "KeyError: '[/]bad key'"
    stored = json.loads(bad.result_json)
    assert stored["error_type"] == "KeyError" and "Traceback (most recent call last)" in stored["traceback"]
    assert "flaky" in stored["traceback"]  # where it happened


def test_resume_runs_with_the_stored_configuration_and_names_what_changed(tmp_path: Path) -> None:
    wl = write_workloads(tmp_path / "workloads", tiny={"measure": {**TINY["measure"], "max_iterations": 8}})
    device = write_profile(tmp_path, local_device(tmp_path, "resumer"))
    store = Store(tmp_path / "r.db")
    prep = prepare_run(RunRequest(filters=Filters(), device_files=[device], workloads_dir=wl,
                                  builds_root=tmp_path / "builds"), store)
    run_id = prep.run_id  # a run that died before its first cell
    doc = yaml.safe_load((wl / "tiny.yaml").read_text())
    doc["measure"].update(min_iterations=60, max_iterations=80, min_seconds=0.0)
    (wl / "tiny.yaml").write_text(yaml.safe_dump(doc))
    resumed = prepare_resume(run_id, store)
    (note,) = resumed.notes
    assert "workload tiny changed" in note and "measure.max_iterations: 8 -> 80" in note
    assert resumed.ctx.workloads["tiny"][0].measure.max_iterations == 8
    execute(resumed)
    (cell_id,) = store.cells_frame([run_id])["id"]
    samples = store.samples_for([int(cell_id)])
    assert samples and all(len(v) <= 8 for v in samples.values())  # the stored stopping rule ran, not the edited one


def test_shard_specs_that_do_not_fit_are_refused_naming_the_other_host(tmp_path: Path) -> None:
    store = Store(tmp_path / "n.db")
    store.create_run("night-a", [], kind="nightly", host="lab-host-2",
                     labels={"farm": "lab", "night": "2026-03-01", "shard": "1/2"})
    other_n = shard_conflict(store, "lab", Shard(1, 3), "2026-03-01")
    assert other_n and "lab-host-2" in other_n and "same n" in other_n
    same_i = shard_conflict(store, "lab", Shard(1, 2), "2026-03-01")
    assert same_i and "already has run night-a on host lab-host-2" in same_i
    assert shard_conflict(store, "lab", Shard(2, 2), "2026-03-01") is None
    assert shard_conflict(store, "lab", Shard(1, 3, (("rack", "b"),)), "2026-03-01") is None  # other devices
    assert shard_conflict(store, "lab", Shard(1, 3), "2026-03-02") is None  # another night


def test_url_passwords_are_never_stored_or_exported(tmp_path: Path) -> None:
    secret = "s3cr@t-pw"
    url = f"postgresql+psycopg://bench:{secret}@db.lab:5432/harness"
    db = tmp_path / "s.db"
    store = Store(db)
    store.create_run("r1", [], argv=["run", "--store", url, f"--store={url}"], labels={"store": url, "n": [url]})
    store.update_run("r1", labels={"again": url})
    with store.engine.begin() as conn:  # a store written before redaction existed
        conn.execute(update(S.runs).where(S.runs.c.run_id == "r1").values(argv_json=json.dumps([url])))
    raw = db.read_bytes() + b"".join(p.read_bytes() for p in tmp_path.glob("s.db-*"))
    with store.engine.connect() as conn:
        labels = conn.execute(text("SELECT labels_json FROM runs")).scalar()
    assert secret not in labels
    run = store.get_run("r1")
    assert secret not in json.dumps(run) and "bench:***@db.lab:5432" in run["argv"][0]
    out = export(RunBundle.load(store, "r1"), "json", tmp_path / "r1.json")
    assert secret not in out.read_text()
    assert raw.count(secret.encode()) <= 1  # only the row written raw above, before it was read back


def test_env_keys_never_become_options_of_env() -> None:
    assert wrapped_exec(["true"], "/p.pid", env={"A_1": "x"}).endswith(" env A_1=x true")
    with pytest.raises(HarnessError, match="identifiers"):
        wrapped_exec(["true"], "/p.pid", env={"-S touch x": "1"})
