"""One entry point for the data sets hopjax trains on: IDX files or tensorflow-datasets."""

import os
import pathlib
from typing import NamedTuple

import numpy as np

from ._errors import DatasetNotFoundError
from ._idx import DEBIAN_FASHION_MNIST, load_idx_split
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
        """The first `train` training and `test` test examples (all where `None`)."""
        return Dataset(
            self.train_images[:train],
            self.train_labels[:train],
            self.test_images[:test],
            self.test_labels[:test],
            self.description,
        )


def _canonical(name: str) -> str:
    key = name.lower().replace("_", "-").replace("/", "-")
    if key not in TFDS_NAMES:
        raise ValueError(
            f"Unknown data set {name!r}; hopjax knows {sorted(TFDS_NAMES)}."
        )
    return key


def load_dataset(
    name: str = "fashion-mnist",
    *,
    data_dir: str | pathlib.Path | None = None,
    source: str = "auto",
    download: bool = True,
) -> Dataset:
    """Load ``name`` (``"mnist"``, ``"emnist-mnist"`` or ``"fashion-mnist"``).

    - ``source="idx"``: MNIST-format IDX files (``train-images-idx3-ubyte.gz``, ...)
      in ``data_dir`` (default for Fashion-MNIST: Debian's ``dataset-fashion-mnist``
      at ``/usr/share/datasets/fashion-mnist``).
    - ``source="tfds"``: tensorflow-datasets (downloads on first use if ``download``).
    - ``source="auto"``: IDX files if ``data_dir`` is given or, for Fashion-MNIST, if
      the Debian package is installed; tensorflow-datasets otherwise.

    A data set that is not available raises [`hopjax.data.DatasetNotFoundError`][]
    saying how to get it.

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
    key = _canonical(name)
    if data_dir is None:
        data_dir = os.environ.get("HOPJAX_DATA_DIR") or None
    if source not in ("auto", "idx", "tfds"):
        raise ValueError(f"source must be 'auto', 'idx' or 'tfds', got {source!r}.")
    if source == "auto":
        local = data_dir is not None or (
            key == "fashion-mnist" and DEBIAN_FASHION_MNIST.is_dir()
        )
        source = "idx" if local else "tfds"
    if source == "idx":
        if data_dir is None:
            if key != "fashion-mnist":
                raise DatasetNotFoundError(
                    f"Reading {key} from IDX files needs `data_dir` (`--data-dir DIR`): a "
                    "directory holding train-images-idx3-ubyte.gz and its three siblings."
                )
            data_dir = DEBIAN_FASHION_MNIST
        train = load_idx_split(data_dir, "train")
        test = load_idx_split(data_dir, "test")
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
