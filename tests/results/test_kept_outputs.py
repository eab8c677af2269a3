"""Kept outputs (results.kept_outputs): the blob is an npz np.load reads back bit for bit,
whatever the arrays; a blob already kept is not compressed again."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from harness.results import kept_outputs
from harness.results.kept_outputs import load_outputs, npz_bytes
from tests.analysis.test_results_matrix import cell, store_with

NAMES = st.text(st.characters(min_codepoint=33, max_codepoint=0x2FF, blacklist_characters="\\"), min_size=1, max_size=12)
ARRAYS = hnp.arrays(
    dtype=st.sampled_from([np.float32, np.float16, np.float64, np.int64, np.int32, np.int8, np.uint8, np.bool_]),
    shape=hnp.array_shapes(min_dims=0, max_dims=4, min_side=0, max_side=6),
)


@settings(max_examples=60, deadline=None)
@given(st.dictionaries(NAMES, ARRAYS, min_size=1, max_size=4))
def test_npz_bytes_round_trip_through_np_load(outputs: dict[str, np.ndarray]) -> None:
    with np.load(io.BytesIO(npz_bytes(outputs)), allow_pickle=False) as z:
        back = {k: z[k] for k in z.files}
    assert set(back) == set(outputs)
    for name, a in outputs.items():
        assert back[name].dtype == a.dtype and back[name].shape == a.shape
        assert back[name].tobytes() == a.tobytes()  # bit for bit, NaNs included


def test_a_kept_blob_is_not_compressed_again(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[int] = []
    real = kept_outputs.npz_bytes
    monkeypatch.setattr(kept_outputs, "npz_bytes", lambda o: calls.append(1) or real(o))
    out = {"b1/logits": np.linspace(0, 1, 1000, dtype=np.float32).reshape(1, 1000)}
    store = store_with(tmp_path, "r1", [cell("pixel", "resnet", "fp32", outputs=out)])
    store_with(tmp_path, "r2", [cell("pixel", "resnet", "fp32", outputs=dict(out))], store=store)
    assert len(calls) == 1
    cells = store.cells_frame(["r1", "r2"])
    kept = load_outputs(store, cells["id"].tolist())
    assert len(kept) == 2 and all(np.array_equal(k.arrays["b1/logits"], out["b1/logits"]) for k in kept.values())
