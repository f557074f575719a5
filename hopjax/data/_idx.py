"""MNIST-format IDX files (optionally gzipped), e.g. Debian's `dataset-fashion-mnist`."""

import gzip
import pathlib
import zlib

import numpy as np

from .._checks import check_path
from ._errors import DatasetNotFoundError, how_to_get


DEBIAN_FASHION_MNIST = pathlib.Path("/usr/share/datasets/fashion-mnist")
"""Where Debian's `dataset-fashion-mnist` package puts the full 70 000-image data set
(`apt-get install dataset-fashion-mnist`)."""

_DTYPES = {0x08: np.uint8, 0x09: np.int8, 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4", 0x0E: ">f8"}


def parse_idx(data: bytes, name: str = "IDX data") -> np.ndarray:
    """Parse the bytes of one (uncompressed) IDX file.

    An IDX file is a 4-byte magic number `0x00 0x00 T D` (`T` the element type, `D`
    the number of dimensions), then `D` big-endian 4-byte sizes, then the elements in
    C order.

    **Arguments:**

    - `data`: the file's bytes.
    - `name`: what to call them in error messages (e.g. the file's path).

    **Returns:** the array, with the dtype and shape of the header.

    **Raises:** `ValueError` for a bad magic number or a truncated file; `TypeError`
    for `data` that is not bytes.
    """
    if not isinstance(data, (bytes, bytearray, memoryview)):
        raise TypeError(f"parse_idx needs the file's bytes, got {type(data).__name__}.")
    if len(data) < 4 or data[0] != 0 or data[1] != 0 or data[2] not in _DTYPES:
        raise ValueError(f"{name} is not an IDX file (bad magic number).")
    ndim = data[3]
    if len(data) < 4 + 4 * ndim:
        raise ValueError(
            f"{name} is truncated: its header names {ndim} dimensions but holds "
            f"{len(data) - 4} of their {4 * ndim} size bytes."
        )
    dims = tuple(int.from_bytes(data[4 + 4 * k : 8 + 4 * k], "big") for k in range(ndim))
    dtype = np.dtype(_DTYPES[data[2]])
    expected = int(np.prod(dims)) * dtype.itemsize
    body = data[4 + 4 * ndim :]
    if len(body) != expected:
        raise ValueError(
            f"{name} is truncated or corrupt: header says {dims} ({expected} bytes), "
            f"file holds {len(body)} bytes."
        )
    return np.frombuffer(body, dtype).reshape(dims)


def read_idx(path: str | pathlib.Path) -> np.ndarray:
    """Read one IDX file (``.gz`` or plain) into a NumPy array of its stored shape
    ([`hopjax.data.parse_idx`][] of the file's bytes).

    **Arguments:**

    - `path`: the file; a `.gz` suffix means gzip-compressed.

    **Returns:** the array, with the dtype and shape of the file's header (e.g.
    `(60000, 28, 28)` uint8 for MNIST training images).

    **Raises:** `ValueError` for a bad magic number, a truncated file, or a `.gz` file
    that is not whole gzip data (e.g. a download cut short).
    """
    path = check_path("read_idx: path", path)
    if path.suffix != ".gz":
        return parse_idx(path.read_bytes(), str(path))
    try:
        with gzip.open(path, "rb") as f:
            data = f.read()
    except (EOFError, gzip.BadGzipFile, zlib.error) as error:
        raise ValueError(
            f"{path} is not a whole gzip file ({error}); fetch it again."
        ) from error
    return parse_idx(data, str(path))


def load_idx_split(
    directory: str | pathlib.Path, split: str
) -> tuple[np.ndarray, np.ndarray]:
    """``(images, labels)`` of the ``"train"`` or ``"test"`` split in ``directory``.

    Images are flattened to ``(n, rows * cols)`` float32 scaled to ``[0, 1]``; labels
    are int32. File names follow MNIST's (``train-images-idx3-ubyte[.gz]``,
    ``t10k-labels-idx1-ubyte[.gz]``, ...).

    **Arguments:**

    - `directory`: the directory holding the four files.
    - `split`: `"train"` or `"test"`.

    **Returns:** `(images, labels)`.

    **Raises:** [`hopjax.data.DatasetNotFoundError`][] if a file is missing (saying how
    to get Fashion-MNIST and MNIST).
    """
    directory = check_path("load_idx_split: directory", directory)
    prefix = {"train": "train", "test": "t10k"}.get(split)
    if prefix is None:
        raise ValueError(f"split must be 'train' or 'test', got {split!r}.")

    def find(kind):
        for name in (f"{prefix}-{kind}-ubyte.gz", f"{prefix}-{kind}-ubyte"):
            if (directory / name).exists():
                return directory / name
        why = ("" if directory.is_dir() else ": it is a file, not a directory" if directory.exists()
               else ": there is no such directory")
        raise DatasetNotFoundError(f"No {prefix}-{kind}-ubyte[.gz] in {directory}{why}. " + how_to_get())

    images_file, labels_file = find("images-idx3"), find("labels-idx1")
    images, labels = read_idx(images_file), read_idx(labels_file)
    if images.ndim < 2 or images.dtype != np.uint8:
        raise ValueError(
            f"{images_file} holds {images.dtype} of shape {images.shape}, not MNIST-format "
            "images (unsigned bytes, one image per row of the first axis)."
        )
    if labels.ndim != 1 or not np.issubdtype(labels.dtype, np.integer):
        raise ValueError(
            f"{labels_file} holds {labels.dtype} of shape {labels.shape}, not MNIST-format "
            "labels (one integer per image)."
        )
    if images.shape[0] != labels.shape[0]:
        raise ValueError(
            f"{directory}: {images.shape[0]} images but {labels.shape[0]} labels."
        )
    images = images.reshape(images.shape[0], -1).astype(np.float32) / 255.0
    return images, labels.astype(np.int32)
