r"""Matrix products at full precision, unless the user chose a matmul precision.

JAX's default for a float32 matrix product depends on the hardware: TensorFloat-32 on
NVIDIA GPUs since Ampere (A100, H100; inputs rounded to 10 mantissa bits, a relative
error up to $2^{-11} \approx 4.9 \cdot 10^{-4}$ per factor), bfloat16 passes on TPUs.
That is coarser than the relative change of $10^{-4}$ at which a solve counts as
converged, and than the papers' PyTorch code, which multiplies in float32. So hopjax's
own products (the maps, the input drive, the energy, Anderson's least squares) ask for
`jax.lax.Precision.HIGHEST`, full precision (float32 arithmetic for float32; a CPU
multiplies float32 in float32 anyway: there it changes nothing), unless a default has
been chosen, with `jax.default_matmul_precision(...)` or the
`JAX_DEFAULT_MATMUL_PRECISION` environment variable: that choice is then honoured (e.g.
`"tensorfloat32"`, for speed). The choice is read when a function is traced (`jax.jit`
compiles again when it changes).
"""

import jax
import jax.numpy as jnp
from jaxtyping import Array, Inexact


def matmul(a: Inexact[Array, "*a"], b: Inexact[Array, "*b"]) -> Inexact[Array, "*ab"]:
    """`a @ b` (`jnp.matmul`) at the full precision of its dtype (float32 arithmetic
    for float32), or at the matmul precision chosen, if one is."""
    chosen = jax.config.jax_default_matmul_precision is not None
    return jnp.matmul(a, b, precision=None if chosen else jax.lax.Precision.HIGHEST)
