"""MNIST-like data sets through `tensorflow-datasets` (the path for users with internet).

Uses `tfds.data_source` (random-access ArrayRecord files), which needs neither
TensorFlow nor a network connection once a data set is prepared. Preparing one (on
first use: download, then convert) needs TensorFlow, which tfds's MNIST builders read
their files with, and `importlib_resources` (tensorflow/datasets#11212); the `tfds`
extra installs both. Tests drive the path offline: `tfds.testing.mock_data`, and the
real preparation with the download replaced by local IDX files.
"""

import socket
import urllib.parse
import urllib.request

import numpy as np

from ._errors import DatasetNotFoundError, how_to_get, TFDS_INSTALL


_WITHOUT_INTERNET = "Without internet, use MNIST-format IDX files instead. " + how_to_get()


def load_tfds_split(
    name: str, split: str, *, data_dir: str | None = None, download: bool = True
) -> tuple[np.ndarray, np.ndarray]:
    """``(images, labels)`` of one split of the tfds data set ``name`` (e.g.
    ``"mnist"``, ``"fashion_mnist"``, ``"emnist/mnist"``).

    Images are flattened to ``(n, 784)`` float32 in ``[0, 1]`` (pixel / 255), labels
    are int32. ``download=True`` lets tfds fetch and prepare the data set on first use
    (needs internet); ``data_dir`` is tfds's data directory (default ``~/tensorflow_datasets``).

    **Arguments:**

    - `name`: the tensorflow-datasets name (see [`hopjax.data.TFDS_NAMES`][]).
    - `split`: `"train"` or `"test"`.
    - `data_dir`: tfds's data directory, or `None` for its default.
    - `download`: allow tfds to download and prepare the data set (default True).

    **Returns:** `(images, labels)`.

    **Raises:** [`hopjax.data.DatasetNotFoundError`][] if tensorflow-datasets is not
    installed or cannot provide the data set (the message says what to do instead); a
    data set not prepared yet whose download host does not resolve (no internet, no
    proxy) fails at once, before tfds's download retries (minutes). `ValueError` for a
    split other than `"train"` or `"test"`.
    """
    if split not in ("train", "test"):
        raise ValueError(f"load_tfds_split: split must be 'train' or 'test', got {split!r}.")
    try:
        import tensorflow_datasets as tfds
    except ImportError as error:
        raise DatasetNotFoundError(
            f"Loading {name!r} through tensorflow-datasets needs it installed: "
            f"{TFDS_INSTALL}. " + _WITHOUT_INTERNET
        ) from error
    try:
        return _as_arrays(_open(tfds, name, split, data_dir, download=False))
    except DatasetNotFoundError:
        if not download:
            raise
    host = unreachable_download_host(tfds, name, data_dir)
    if host is not None:  # tfds would retry for minutes before giving up
        raise DatasetNotFoundError(
            f"tensorflow-datasets would download {name!r} from {host}, whose name does "
            "not resolve here (no internet?). " + _WITHOUT_INTERNET
        )
    return _as_arrays(_open(tfds, name, split, data_dir, download=True))


def unreachable_download_host(tfds, name: str, data_dir: str | None) -> str | None:
    """The first host that tfds would download ``name`` from whose name does not resolve
    here, or `None`: also when a proxy is configured (it resolves names itself) or when
    tfds cannot say (the download then reports its own error)."""
    if urllib.request.getproxies():
        return None
    try:
        urls = tfds.builder(name, data_dir=data_dir).url_infos or {}
    except Exception:  # an unknown name, a broken install: tfds's own call says so
        return None
    for host in dict.fromkeys(urllib.parse.urlsplit(url).hostname for url in urls):
        try:
            socket.getaddrinfo(host, None)
        except OSError:  # socket.gaierror: no DNS answer
            return host
    return None


def _open(tfds, name: str, split: str, data_dir: str | None, download: bool):
    """`tfds.data_source` of one split, its errors raised as `DatasetNotFoundError`
    saying what to do."""
    try:
        return tfds.data_source(
            name,
            split=split,
            data_dir=data_dir,
            download=download,
            builder_kwargs={"file_format": "array_record"},
        )
    except ModuleNotFoundError as error:  # tfds prepares MNIST-like sets with TensorFlow
        missing = _missing_module(error)
        module = f"the module {missing!r}" if missing else f"a module it lacks ({error})"
        raise DatasetNotFoundError(
            f"tensorflow-datasets needs {module} to prepare {name!r} "
            f"on first use; hopjax's tfds extra brings it: {TFDS_INSTALL}. "
            + _WITHOUT_INTERNET
        ) from error
    except Exception as error:  # tfds raises many types: network, missing files, ...
        raise DatasetNotFoundError(
            f"tensorflow-datasets could not provide {name!r} (split {split!r}): "
            f"{type(error).__name__}: {error}\nWith internet, tfds downloads it on first "
            "use. " + _WITHOUT_INTERNET
        ) from error


def _missing_module(error: BaseException | None) -> str | None:
    """The name of the module whose import failed, from the first named
    `ModuleNotFoundError` in `error`'s chain (tfds re-raises some without the name), or
    `None`."""
    while error is not None:
        if isinstance(error, ModuleNotFoundError) and error.name:
            return error.name
        error = error.__cause__ or error.__context__
    return None


def _as_arrays(source) -> tuple[np.ndarray, np.ndarray]:
    """A tfds data source's examples as `(n, 784)` float32 images in [0, 1] and int32
    labels."""
    examples = [source[i] for i in range(len(source))]
    images = np.stack([example["image"] for example in examples])
    labels = np.array([example["label"] for example in examples], dtype=np.int32)
    images = images.reshape(len(examples), -1).astype(np.float32) / 255.0
    return images, labels
