"""What a split of a data set must hold: images and labels a network can learn from."""

import jax.numpy as jnp
import numpy as np

from ._dataset import Dataset


def check_split(split: str, images, labels) -> tuple[np.ndarray, np.ndarray]:
    """`(images, labels)` as NumPy arrays, or an error that names what is wrong: the
    images must be a non-empty `(n, d)` floating-point array of finite pixels in
    `[0, 1]`, the labels `(n,)` integer class indices (not one-hot vectors).

    **Arguments:**

    - `split`: the name the messages give the split, e.g. `"train"`.
    - `images`, `labels`: array-likes.

    **Returns:** `(np.asarray(images), np.asarray(labels))`.
    """
    images, labels = np.asarray(images), np.asarray(labels)
    if images.ndim != 2 or len(images) == 0:
        raise ValueError(
            f"{split} images must be a non-empty (examples, pixels) array, got shape "
            f"{images.shape}."
        )
    if not jnp.issubdtype(images.dtype, jnp.floating):  # bfloat16 too (NumPy's is not)
        raise TypeError(
            f"{split} images must be floating point (pixels scaled to [0, 1]), got dtype "
            f"{images.dtype}."
        )
    if labels.shape != images.shape[:1] or not np.issubdtype(labels.dtype, np.integer):
        raise ValueError(
            f"{split} labels must be {len(images)} integer class indices, one per image "
            f"(not one-hot), got shape {labels.shape} and dtype {labels.dtype}."
        )
    if not np.isfinite(images).all():
        raise ValueError(f"{split} images contain NaN or Inf pixels.")
    low, high = images.min(), images.max()
    if low < 0 or high > 1:
        raise ValueError(
            f"{split} images must be pixels scaled to [0, 1], got values from {low:g} to "
            f"{high:g}" + (" (divide 8-bit pixels by 255)." if high > 1 else ".")
        )
    return images, labels


def check_dataset(data: Dataset) -> Dataset:
    """`data` with both splits passed through `check_split` (NumPy arrays throughout)."""
    if not isinstance(data, Dataset):
        raise TypeError(
            "data must be a hopjax.data.Dataset(train_images, train_labels, test_images, "
            f"test_labels, description), got {type(data).__name__}."
        )
    train = check_split("train", data.train_images, data.train_labels)
    test = check_split("test", data.test_images, data.test_labels)
    return Dataset(*train, *test, data.description)
