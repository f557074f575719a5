"""How the benchmark scripts time a function: the median of repeated calls of a
jit-compiled function after a warm-up call (which compiles it), each synchronised with
`jax.block_until_ready` (JAX dispatches asynchronously)."""

import time

import jax
import numpy as np


def median_time(fn, *args, repeats: int) -> float:
    """Median wall time in seconds of `repeats` calls `fn(*args)`, after a warm-up call."""
    jax.block_until_ready(fn(*args))
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        jax.block_until_ready(fn(*args))
        times.append(time.perf_counter() - start)
    return float(np.median(times))
