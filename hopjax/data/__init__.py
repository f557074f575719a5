"""Data sets as NumPy arrays (a wing above the core: the core never imports it)."""

from ._idx import (
    DEBIAN_FASHION_MNIST as DEBIAN_FASHION_MNIST,
    load_idx_split as load_idx_split,
    read_idx as read_idx,
)
