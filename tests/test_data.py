import gzip

import numpy as np
import pytest

from hopjax.data import DEBIAN_FASHION_MNIST, load_idx_split, read_idx


def _write_idx(path, array, code):
    header = bytes([0, 0, code, array.ndim]) + b"".join(
        int(d).to_bytes(4, "big") for d in array.shape
    )
    data = header + array.tobytes()
    if path.suffix == ".gz":
        data = gzip.compress(data)
    path.write_bytes(data)


def test_idx_round_trip_on_generated_files(tmp_path):
    rng = np.random.default_rng(0)
    images = rng.integers(0, 256, (7, 28, 28), dtype=np.uint8)
    labels = rng.integers(0, 10, (7,), dtype=np.uint8)
    _write_idx(tmp_path / "t10k-images-idx3-ubyte.gz", images, 0x08)
    _write_idx(tmp_path / "t10k-labels-idx1-ubyte", labels, 0x08)
    np.testing.assert_array_equal(read_idx(tmp_path / "t10k-images-idx3-ubyte.gz"), images)
    x, y = load_idx_split(tmp_path, "test")
    assert x.shape == (7, 784) and x.dtype == np.float32
    np.testing.assert_allclose(x, images.reshape(7, -1) / 255.0)
    np.testing.assert_array_equal(y, labels)
    with pytest.raises(FileNotFoundError, match="apt-get install dataset-fashion-mnist"):
        load_idx_split(tmp_path, "train")
    with pytest.raises(ValueError, match="split must be"):
        load_idx_split(tmp_path, "validation")


def test_idx_rejects_corrupt_files(tmp_path):
    (tmp_path / "bad").write_bytes(b"\x00\x00\x08\x01\x00\x00\x00\x05ab")
    with pytest.raises(ValueError, match="truncated or corrupt"):
        read_idx(tmp_path / "bad")
    (tmp_path / "text").write_bytes(b"hello world")
    with pytest.raises(ValueError, match="not an IDX file"):
        read_idx(tmp_path / "text")


@pytest.mark.skipif(not DEBIAN_FASHION_MNIST.exists(), reason="dataset-fashion-mnist not installed")
def test_real_fashion_mnist():
    x, y = load_idx_split(DEBIAN_FASHION_MNIST, "test")
    assert x.shape == (10_000, 784) and y.shape == (10_000,)
    assert 0.0 <= x.min() and x.max() <= 1.0 and x.max() == 1.0
    assert np.bincount(y).tolist() == [1000] * 10
