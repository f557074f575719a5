"""Deterministic mini-batch indices."""

import jax
import numpy as np
from jaxtyping import PRNGKeyArray

from .._checks import check_flag, check_key, check_positive_int, is_count


def batch_indices(
    num_examples: int,
    batch_size: int,
    key: PRNGKeyArray | None = None,
    *,
    drop_last: bool = True,
) -> list[np.ndarray]:
    """The index arrays of one epoch's mini-batches.

    With a `key`, the examples are shuffled by `jax.random.permutation(key, n)` (the
    same key always gives the same order, on any machine); without, they stay in
    order. `drop_last` drops a final partial batch, as the papers do (60 000 training
    images at batch 64 give 937 steps).

    **Arguments:**

    - `num_examples`: $n$, the size of the data set.
    - `batch_size`: examples per batch.
    - `key`: a JAX PRNG key for the shuffle, or `None` for the natural order.
    - `drop_last`: drop a final partial batch (default True).

    **Returns:** a list of integer index arrays, each of length `batch_size` (the last
    one shorter if `drop_last=False`).
    """
    if not is_count(num_examples, minimum=0):
        raise ValueError(f"num_examples must be an integer >= 0, got {num_examples!r}.")
    batch_size = check_positive_int("batch_size", batch_size)
    check_flag("batch_indices: drop_last", drop_last)
    if key is not None:
        check_key("batch_indices", key)
    if num_examples < (batch_size if drop_last else 1):
        raise ValueError(
            f"{num_examples} examples do not fill one batch of {batch_size}."
        )
    order = (
        np.arange(num_examples)
        if key is None
        else np.asarray(jax.random.permutation(key, num_examples))
    )
    stop = num_examples - num_examples % batch_size if drop_last else num_examples
    return [order[i : i + batch_size] for i in range(0, stop, batch_size)]
