"""MNIST-like data sets through `tensorflow-datasets` (the path for users with internet).

Uses `tfds.data_source` (random-access ArrayRecord files), which needs neither
TensorFlow nor a network connection once a data set is prepared. Preparing one (on
first use: download, then convert) needs TensorFlow, which tfds's MNIST builders read
their files with, and `importlib_resources` (tensorflow/datasets#11212); the `tfds`
extra installs both. Tests drive the path offline: `tfds.testing.mock_data`, and the
real preparation with the download replaced by local IDX files.
"""

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
    installed or cannot provide the data set (the message says what to do instead).
    """
    try:
        import tensorflow_datasets as tfds
    except ImportError as error:
        raise DatasetNotFoundError(
            f"Loading {name!r} through tensorflow-datasets needs it installed: "
            f"{TFDS_INSTALL}. " + _WITHOUT_INTERNET
        ) from error
    try:
        source = tfds.data_source(
            name,
            split=split,
            data_dir=data_dir,
            download=download,
            builder_kwargs={"file_format": "array_record"},
        )
    except ModuleNotFoundError as error:  # tfds prepares MNIST-like sets with TensorFlow
        raise DatasetNotFoundError(
            f"tensorflow-datasets needs the module {error.name!r} to prepare {name!r} "
            f"on first use; hopjax's tfds extra brings it: {TFDS_INSTALL}. "
            + _WITHOUT_INTERNET
        ) from error
    except Exception as error:  # tfds raises many types: network, missing files, ...
        raise DatasetNotFoundError(
            f"tensorflow-datasets could not provide {name!r} (split {split!r}): "
            f"{type(error).__name__}: {error}\nWith internet, tfds downloads it on first "
            "use. " + _WITHOUT_INTERNET
        ) from error
    examples = [source[i] for i in range(len(source))]
    images = np.stack([example["image"] for example in examples])
    labels = np.array([example["label"] for example in examples], dtype=np.int32)
    images = images.reshape(len(examples), -1).astype(np.float32) / 255.0
    return images, labels
