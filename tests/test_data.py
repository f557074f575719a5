import gzip
import hashlib

import jax
import numpy as np
import pytest

from hopjax.data import (
    _dataset,
    batch_indices,
    DatasetNotFoundError,
    DEBIAN_FASHION_MNIST,
    load_dataset,
    load_idx_split,
    parse_idx,
    read_idx,
)

from .helpers import write_idx, write_mnist_like


def test_idx_round_trip_on_generated_files(tmp_path):
    rng = np.random.default_rng(0)
    images = rng.integers(0, 256, (7, 28, 28), dtype=np.uint8)
    labels = rng.integers(0, 10, (7,), dtype=np.uint8)
    write_idx(tmp_path / "t10k-images-idx3-ubyte.gz", images, 0x08)
    write_idx(tmp_path / "t10k-labels-idx1-ubyte", labels, 0x08)
    np.testing.assert_array_equal(read_idx(tmp_path / "t10k-images-idx3-ubyte.gz"), images)
    x, y = load_idx_split(tmp_path, "test")
    assert x.shape == (7, 784) and x.dtype == np.float32
    np.testing.assert_allclose(x, images.reshape(7, -1) / 255.0)
    np.testing.assert_array_equal(y, labels)
    with pytest.raises(FileNotFoundError, match="apt-get install dataset-fashion-mnist"):
        load_idx_split(tmp_path, "train")
    with pytest.raises(ValueError, match="split must be"):
        load_idx_split(tmp_path, "validation")


def test_parse_idx_reads_big_endian_types_from_bytes():
    # 0x0C: int32, big-endian; shape (2, 3), built by hand rather than by `write_idx`.
    header = b"\x00\x00\x0c\x02" + (2).to_bytes(4, "big") + (3).to_bytes(4, "big")
    values = [-5, 0, 7, 2**31 - 1, -(2**31), 123456]
    body = b"".join(v.to_bytes(4, "big", signed=True) for v in values)
    array = parse_idx(header + body)
    assert array.shape == (2, 3) and array.dtype == np.dtype(">i4")
    np.testing.assert_array_equal(array, np.array(values).reshape(2, 3))
    floats = b"\x00\x00\x0e\x01" + (2).to_bytes(4, "big") + np.array([0.5, -3.25], ">f8").tobytes()
    np.testing.assert_array_equal(parse_idx(floats), [0.5, -3.25])
    with pytest.raises(ValueError, match="member.bin is truncated or corrupt"):
        parse_idx(header + body[:-1], "member.bin")
    for cut in (4, 6, 10):  # within the sizes: an empty array of a made-up shape before
        with pytest.raises(ValueError, match=f"header names 2 dimensions but holds {cut - 4} of their 8"):
            parse_idx(header[:cut])


def test_idx_rejects_corrupt_files(tmp_path):
    (tmp_path / "bad").write_bytes(b"\x00\x00\x08\x01\x00\x00\x00\x05ab")
    with pytest.raises(ValueError, match="truncated or corrupt"):
        read_idx(tmp_path / "bad")
    (tmp_path / "text").write_bytes(b"hello world")
    with pytest.raises(ValueError, match="not an IDX file"):
        read_idx(tmp_path / "text")
    # A .gz cut short (an interrupted copy) or not gzip at all: gzip's own EOFError /
    # BadGzipFile named no file.
    whole = gzip.compress(b"\x00\x00\x08\x01\x00\x00\x00\x03abc")
    np.testing.assert_array_equal(read_idx(_write(tmp_path / "whole.gz", whole)), [97, 98, 99])
    for name, data in (("cut.gz", whole[:-6]), ("plain.gz", b"hello world"),
                       ("crc.gz", whole[:-8] + bytes(8))):
        with pytest.raises(ValueError, match=f"{name} is not a whole gzip file .*fetch it again"):
            read_idx(_write(tmp_path / name, data))


def _write(path, data):
    path.write_bytes(data)
    return path



def test_data_and_checkpoint_functions_name_a_path_that_is_not_one(tmp_path):
    # Each failed with Python's "expected str, bytes or os.PathLike object, not int",
    # which names no argument.
    from hopjax.data import download_mnist
    from hopjax.train import load_trained_model, train, TrainConfig

    cases = [
        (lambda: read_idx(None), "read_idx: path must be a path .* got NoneType"),
        (lambda: load_idx_split(3, "test"), "load_idx_split: directory must be a path .* got int"),
        (lambda: download_mnist(3), "download_mnist: directory must be a path .* got int"),
        (lambda: load_trained_model(None), "load_trained_model: path must be a path .* got NoneType"),
        (lambda: train(TrainConfig(), 3), "train: out_dir must be a path .* got int"),
        (lambda: parse_idx("abc"), "parse_idx needs the file's bytes, got str"),
    ]
    for call, message in cases:
        with pytest.raises(TypeError, match=message):
            call()
    # An empty path was taken as the current directory (pathlib's Path("") is "."):
    # download_mnist("") wrote 11 MB of MNIST there, train(config, "") ran into it.
    empty = [
        (lambda: read_idx(""), "read_idx: path"),
        (lambda: load_idx_split("", "test"), "load_idx_split: directory"),
        (lambda: download_mnist(""), "download_mnist: directory"),
        (lambda: load_trained_model(""), "load_trained_model: path"),
        (lambda: train(TrainConfig(), ""), "train: out_dir"),
    ]
    for call, name in empty:
        with pytest.raises(ValueError, match=f"^{name} is empty; give a path"):
            call()


@pytest.mark.skipif(not DEBIAN_FASHION_MNIST.exists(), reason="dataset-fashion-mnist not installed")
def test_real_fashion_mnist():
    x, y = load_idx_split(DEBIAN_FASHION_MNIST, "test")
    assert x.shape == (10_000, 784) and y.shape == (10_000,)
    assert 0.0 <= x.min() and x.max() <= 1.0 and x.max() == 1.0
    assert np.bincount(y).tolist() == [1000] * 10


def test_load_dataset_from_idx_directory(tmp_path, monkeypatch):
    monkeypatch.delenv("HOPJAX_DATA_DIR", raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))  # no downloaded MNIST
    write_mnist_like(tmp_path, 9, 5)
    data = load_dataset("mnist", data_dir=tmp_path)
    assert data.train_images.shape == (9, 784) and data.test_images.shape == (5, 784)
    assert data.train_labels.dtype == np.int32 and str(tmp_path) in data.description
    small = data.subset(np.int64(4), None)
    assert len(small.train_images) == 4 and len(small.test_images) == 5
    assert len(data.subset(100).train_images) == 9  # more than there are: all of them
    for bad in (0, -1, 2.5, True):  # -1 used to drop the last example silently
        with pytest.raises(ValueError, match=f"subset: test must be a positive integer or None, got {bad}"):
            data.subset(3, bad)
    with pytest.raises(ValueError, match="Unknown data set 'cifar10'"):
        load_dataset("cifar10", data_dir=tmp_path)
    with pytest.raises(TypeError, match="The data set's name must be a string, one of .*; got None"):
        load_dataset(None, data_dir=tmp_path)
    with pytest.raises(ValueError, match="source must be"):
        load_dataset("mnist", data_dir=tmp_path, source="web")
    with pytest.raises(DatasetNotFoundError, match="needs `data_dir`") as missing:
        load_dataset("mnist", source="idx")
    assert "`hopjax download mnist`" in str(missing.value)
    assert "apt-get" not in str(missing.value)  # the advice is for MNIST only
    with pytest.raises(DatasetNotFoundError, match="needs `data_dir`. Give `--data-dir DIR`"):
        load_dataset("emnist-mnist", source="idx")  # no offline source: --data-dir only
    with pytest.raises(DatasetNotFoundError, match="--data-dir|apt-get"):
        load_dataset("mnist", data_dir=tmp_path / "empty")
    # a directory that is not there, or a file, is named as such (was "No ... in DIR" only)
    with pytest.raises(DatasetNotFoundError, match=r"ubyte\[\.gz\] in .*empty: there is no such directory\. "):
        load_dataset("mnist", data_dir=tmp_path / "empty")
    (tmp_path / "file").write_text("")
    with pytest.raises(DatasetNotFoundError, match=r"ubyte\[\.gz\] in .*file: it is a file, not a directory\. "):
        load_dataset("mnist", data_dir=tmp_path / "file")
    (tmp_path / "dir").mkdir()
    with pytest.raises(DatasetNotFoundError, match=r"ubyte\[\.gz\] in \S*dir\. Get MNIST"):
        load_dataset("mnist", data_dir=tmp_path / "dir")


def test_load_dataset_reads_hopjax_data_dir(tmp_path, monkeypatch):
    write_mnist_like(tmp_path, 7, 3)
    monkeypatch.setenv("HOPJAX_DATA_DIR", str(tmp_path))
    data = load_dataset("mnist")
    assert data.train_images.shape == (7, 784) and str(tmp_path) in data.description


def test_load_dataset_refuses_another_known_data_set(tmp_path, monkeypatch):
    """IDX files recognised (by their test labels) as another data set than the one asked
    for are refused, instead of training under the wrong name."""
    write_mnist_like(tmp_path, 7, 3)
    labels = load_idx_split(tmp_path, "test")[1]
    digest = hashlib.sha256(labels.astype(np.int32).tobytes()).hexdigest()
    monkeypatch.setitem(_dataset._TEST_LABELS_SHA256, "fashion-mnist", digest)
    with pytest.raises(ValueError, match=r"are fashion-mnist, not mnist: .*--dataset fashion-mnist"):
        load_dataset("mnist", data_dir=tmp_path)
    monkeypatch.setenv("HOPJAX_DATA_DIR", str(tmp_path))
    with pytest.raises(ValueError, match="are fashion-mnist, not emnist-mnist"):
        load_dataset("emnist-mnist")
    assert load_dataset("fashion-mnist").test_labels.shape == (3,)  # the right name loads


@pytest.mark.skipif(not DEBIAN_FASHION_MNIST.is_dir(), reason="Debian's dataset-fashion-mnist not installed")
def test_real_fashion_mnist_is_recognised_by_its_labels():
    with pytest.raises(ValueError, match="are fashion-mnist, not mnist"):
        load_dataset("mnist", data_dir=DEBIAN_FASHION_MNIST)


def test_batch_indices_are_deterministic_and_cover_each_example_once():
    key = jax.random.key(3)
    first = batch_indices(130, 64, key)
    again = batch_indices(130, 64, key)
    assert len(first) == 2 and all(b.shape == (64,) for b in first)  # drop_last
    for a, b in zip(first, again):
        np.testing.assert_array_equal(a, b)
    assert len(np.unique(np.concatenate(first))) == 128
    other = batch_indices(130, 64, jax.random.key(4))
    assert not np.array_equal(first[0], other[0])
    ordered = batch_indices(130, 64, drop_last=False)
    np.testing.assert_array_equal(np.concatenate(ordered), np.arange(130))
    with pytest.raises(ValueError, match="do not fill one batch"):
        batch_indices(10, 64, key)
    with pytest.raises(ValueError, match="batch_size must be"):
        batch_indices(10, 0)
    for batch_size in (True, 2.5, "3"):
        with pytest.raises(ValueError, match=f"batch_size must be a positive integer, got {batch_size!r}"):
            batch_indices(10, batch_size)
    for count in (10.5, -3):
        with pytest.raises(ValueError, match=f"num_examples must be an integer >= 0, got {count}"):
            batch_indices(count, 2)
    assert [len(b) for b in batch_indices(np.int64(10), np.int64(3))] == [3, 3, 3]
    with pytest.raises(TypeError, match="batch_indices: drop_last must be True or False, got None"):
        batch_indices(10, 3, drop_last=None)
    for bad in (3, "a", jax.random.split(key, 2)):  # were errors from inside JAX naming no argument
        with pytest.raises(TypeError, match=r"batch_indices: key must be one JAX PRNG key"):
            batch_indices(10, 3, bad)


def test_idx_split_refuses_files_that_are_not_images_and_labels(tmp_path):
    rng = np.random.default_rng(1)
    images = rng.integers(0, 256, (7, 28, 28), dtype=np.uint8)
    labels = rng.integers(0, 10, (7,), dtype=np.uint8)
    cases = {
        "swapped": (labels, images, r"images-idx3-ubyte.gz holds uint8 of shape \(7,\), not MNIST"),
        "float images": ((images / 255).astype(">f4"), labels, r"holds >f4 of shape \(7, 28, 28\), not"),
        "labels of images": (images, images, r"labels-idx1-ubyte.gz holds uint8 of shape \(7, 28, 28\)"),
        "float labels": (images, labels.astype(">f4"), "not MNIST-format labels"),
        "miscounted": (images, labels[:5], "7 images but 5 labels"),
    }
    for name, (x, y, message) in cases.items():
        directory = tmp_path / name.replace(" ", "-")
        directory.mkdir()
        write_idx(directory / "t10k-images-idx3-ubyte.gz", x, 0x08 if x.dtype == np.uint8 else 0x0D)
        write_idx(directory / "t10k-labels-idx1-ubyte.gz", y, 0x08 if y.dtype == np.uint8 else 0x0D)
        with pytest.raises(ValueError, match=message):
            load_idx_split(directory, "test")
