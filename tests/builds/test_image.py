"""ViT-like and ResNet-like classifiers: shapes, batch independence, determinism."""

from __future__ import annotations

import numpy as np
import onnxruntime as ort
import pytest

from harness.builds.image import ResNetConfig, ViTConfig, build_resnet, build_vit

SMALL = {
    "vit": lambda seed: build_vit(ViTConfig(image=32, patch=8, dim=32, depth=2, heads=2, classes=10), seed),
    "resnet": lambda seed: build_resnet(ResNetConfig(image=32, widths=(8, 16), classes=10), seed),
}


@pytest.mark.parametrize("name", sorted(SMALL))
def test_batch_rows_equal_single_images(name):
    sess = ort.InferenceSession(SMALL[name](0).SerializeToString(), providers=["CPUExecutionProvider"])
    x = np.random.default_rng(0).standard_normal((3, 3, 32, 32)).astype(np.float32)
    batch = sess.run(None, {"pixel_values": x})[0]
    assert batch.shape == (3, 10) and np.isfinite(batch).all()
    for i in range(3):
        np.testing.assert_allclose(sess.run(None, {"pixel_values": x[i : i + 1]})[0][0], batch[i], atol=1e-5)
    assert np.ptp(batch) > 0  # not a degenerate constant output


@pytest.mark.parametrize("name", sorted(SMALL))
def test_deterministic_bytes(name):
    assert SMALL[name](5).SerializeToString() == SMALL[name](5).SerializeToString()


def test_default_sizes_fit_the_5_to_50_mb_band():
    for model in (build_vit(ViTConfig(), 0), build_resnet(ResNetConfig(), 0)):
        assert 5e6 <= model.ByteSize() <= 50e6
