"""The floating dtype that sums and small linear solves run in."""

import jax.numpy as jnp
import numpy as np
from jaxtyping import DTypeLike


def at_least_float32(dtype: DTypeLike) -> np.dtype:
    """`dtype` itself if it has at least 32 bits, else float32: half-precision values
    (float16, bfloat16) are summed and solved for in float32, since LAPACK has no half
    precision and their sums of squares lose the digits a test needs.

    It is `jnp.promote_types(dtype, jnp.float32)` for floating dtypes, written without
    promotion so that it also holds under `jax.numpy_dtype_promotion("strict")`, which
    refuses to promote float16 or bfloat16 to float32 implicitly.
    """
    dtype = jnp.dtype(dtype)
    return dtype if jnp.finfo(dtype).bits >= 32 else jnp.dtype(jnp.float32)
