"""A user workload's inputs against its model's graph: every mismatch at its file:line:col."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from harness.builds.io_check import check_inputs
from harness.cli import app
from harness.config.loader import load_workload
from tests.odd_models import VAD_WORKLOAD, stateful_vad


@pytest.fixture(scope="module")
def vad_folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("vad")
    stateful_vad(folder / "vad.onnx")
    return folder


def _problems(folder: Path, text: str, name: str = "w.yaml") -> tuple[Path, list[str]]:
    path = folder / name
    path.write_text(text)
    return path, [str(p) for p in check_inputs(load_workload(path), path)]


def _line(path: Path, needle: str, nth: int = 0) -> int:
    return [i for i, t in enumerate(path.read_text().splitlines(), 1) if needle in t][nth]


def test_the_shipped_vad_workload_fits_its_model(vad_folder: Path) -> None:
    assert _problems(vad_folder, VAD_WORKLOAD.format(precisions="[fp32]"))[1] == []


def test_names_dtypes_ranks_and_dims_are_checked_at_their_lines(vad_folder: Path) -> None:
    text = VAD_WORKLOAD.format(precisions="[fp32]")
    text = text.replace("  - name: x\n", "  - name: feats\n")  # not an input (and x then missing)
    text = text.replace("    shape: [N, 32]\n", "    shape: [N, 32, 1]\n")  # rank 3 for a rank-2 input
    text = text.replace("    dtype: int64\n", "    dtype: int32\n")  # sr is int64
    text = text.replace("from_output: stateN", "from_output: state_n")
    path, problems = _problems(vad_folder, text)
    assert problems == [
        f"{path}:{_line(path, 'name: feats')}:11: workload vad: input 'feats' is not an input of vad.onnx: "
        f"its inputs are ['sr', 'state', 'x']",
        f"{path}:{_line(path, '[N, 32, 1]')}:12: workload vad: input 'state' has rank 3 [N, 32, 1] but vad.onnx takes "
        f"rank 2 [N, 32]",
        f"{path}:{_line(path, 'from_output')}:18: workload vad: input 'state': from_output 'state_n' is not an output "
        f"of vad.onnx: did you mean 'stateN'? its outputs are ['stateN', 'y']",
        f"{path}:{_line(path, 'dtype: int32')}:12: workload vad: input 'sr' is int32 but vad.onnx takes int64",
        f"{path}:{_line(path, 'inputs:')}:1: workload vad: vad.onnx input 'x' (float32, shape [N, 64]) has no entry "
        f"under inputs",
    ]


def test_fixed_dims_and_unbound_names(vad_folder: Path) -> None:
    text = VAD_WORKLOAD.format(precisions="[fp32]").replace("shape: [N, 64]", "shape: [N, 60]")
    text = text.replace("shape: [N, 32]", "shape: [N, width]")
    path, problems = _problems(vad_folder, text)
    assert problems == [
        f"{path}:{_line(path, '[N, 60]')}:16: workload vad: input 'x' dim 1 is 60 but vad.onnx fixes it at 64",
        f"{path}:{_line(path, '[N, width]')}:16: workload vad: input 'state' dim 1 is 'width': bind it under dims "
        "(e.g. dims: {'width': 16}); dims has nothing",
    ]
    path, problems = _problems(vad_folder, text + "dims: {width: 31}\n")
    assert problems[1] == (f"{path}:{_line(path, 'dims:')}:15: workload vad: dims.width is 31 but vad.onnx fixes "
                           f"input 'state' dim 1 at 32")


def test_an_npy_input_file_is_checked_by_its_header(vad_folder: Path) -> None:
    np.save(vad_folder / "x.npy", np.zeros((1, 63), np.float32))
    text = VAD_WORKLOAD.format(precisions="[fp32]").replace("    shape: [N, 64]\n", "    file: x.npy\n")
    path, problems = _problems(vad_folder, text)
    assert problems == [f"{path}:{_line(path, 'file: x.npy')}:11: workload vad: input 'x': x.npy dim 1 is 63 but "
                        f"vad.onnx fixes it at 64"]


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(rank=st.integers(min_value=0, max_value=5).filter(lambda r: r != 2),
       dims=st.lists(st.integers(min_value=1, max_value=9) | st.sampled_from(["N", "seq", "t"]), min_size=5, max_size=5))
def test_any_wrong_rank_is_reported_at_the_shape(vad_folder: Path, rank: int, dims: list) -> None:
    shape = "[" + ", ".join(str(d) for d in dims[:rank]) + "]"
    text = VAD_WORKLOAD.format(precisions="[fp32]").replace("shape: [N, 32]", f"shape: {shape}")
    path, problems = _problems(vad_folder, text, "rank.yaml")
    assert len(problems) == 1 and f":{_line(path, 'shape: ' + shape)}:" in problems[0]
    assert f"has rank {rank}" in problems[0]


def test_validate_command_runs_the_check(vad_folder: Path) -> None:
    path = vad_folder / "bad.yaml"
    path.write_text(VAD_WORKLOAD.format(precisions="[fp32]").replace("dtype: int64", "dtype: float32"))
    res = CliRunner().invoke(app, ["validate", str(path)])
    assert res.exit_code == 1
    assert f"{path}:{_line(path, 'dtype: float32')}:12: workload vad: input 'sr' is float32 but vad.onnx takes int64" \
        in res.output.replace("\n", "")
    good = vad_folder / "good.yaml"
    good.write_text(VAD_WORKLOAD.format(precisions="[fp32]"))
    res = CliRunner().invoke(app, ["validate", str(good)])
    assert res.exit_code == 0 and "(workload)" in res.output
