r"""The RMS of each parameter as the papers' code stores it, which sets Madam's bound."""

from collections.abc import Callable

import equinox as eqx
import jax.numpy as jnp
from jaxtyping import Array, Float

from .._model import AbstractHopfieldNetwork


def _pooled_rms(tensors, size: int) -> Float[Array, ""]:
    """RMS of a zero-padded tensor of `size` entries holding `tensors` (once each)."""
    return jnp.sqrt(sum(jnp.sum(jnp.square(t)) for t in tensors) / size)


def papers_reference_rms(
    update: str,
) -> Callable[[AbstractHopfieldNetwork], AbstractHopfieldNetwork]:
    r"""The RMS that sets each parameter's Madam bound in the papers' code.

    Madam bounds a stored tensor by `p_scale` times its RMS at initialisation, zeros
    included, and the papers' code stores a network's layer matrices in one zero-padded
    matrix whose layout depends on the update scheme. With state layers of sizes
    $d_1, \dots, d_L$, $N = \sum_i d_i$, and $N_\text{odd}$, $N_\text{even}$ the sizes of
    the odd and even layers:

    - `"synchronous"` (`OneMatrix`): $W \in \mathbb{R}^{N \times N}$ holds every $W_i$
      and $W_i^\top$, so every $W_i$ is bounded through
      $\sqrt{2 \sum_i \lVert W_i \rVert_F^2 / N^2}$; one bias vector
      $b \in \mathbb{R}^N$ gives $\sqrt{\sum_i \lVert b_i \rVert^2 / N}$.
    - `"even_odd"` (`EvenOdd`): $W \in \mathbb{R}^{N_\text{even} \times N_\text{odd}}$
      holds every $W_i$ once: $\sqrt{\sum_i \lVert W_i \rVert_F^2 /
      (N_\text{even} N_\text{odd})}$; the odd and the even biases are one vector each.
    - The input matrix $U$ is its own tensor in both; so are skip matrices, which the
      papers do not have.

    For the 3-layer network of the papers this lowers the bound of a synchronous
    model's $W$ about tenfold against each tensor's own RMS (the $1990 \times 10$
    matrix fills 1 % of $W$), and changes nothing for an even-odd one.

    **Arguments:**

    - `update`: `"synchronous"` or `"even_odd"`.

    **Returns:** a function of the (array-filtered) model that returns a model-shaped
    pytree of RMS values, for [`hopjax.train.madam`][]'s `reference_rms`.
    """
    if update not in ("synchronous", "even_odd"):
        raise ValueError(f"update must be 'synchronous' or 'even_odd', got {update!r}.")

    def reference_rms(params: AbstractHopfieldNetwork) -> AbstractHopfieldNetwork:
        biases = params.biases
        sizes = [b.shape[-1] for b in biases]
        odd = [i for i in range(len(sizes)) if i % 2 == 0]  # biases[i] is layer i + 1
        even = [i for i in range(len(sizes)) if i % 2 == 1]
        n_odd = sum(sizes[i] for i in odd)
        n_even = sum(sizes[i] for i in even)
        layer_matrices = params.weights[1:]
        if update == "synchronous":
            n = n_odd + n_even
            w_rms = _pooled_rms([*layer_matrices, *layer_matrices], n * n)
            bias_rms = [_pooled_rms(biases, n)] * len(biases)
        else:
            w_rms = _pooled_rms(layer_matrices, n_odd * n_even)
            odd_rms = _pooled_rms([biases[i] for i in odd], n_odd)
            even_rms = _pooled_rms([biases[i] for i in even], n_even)
            bias_rms = [odd_rms if i % 2 == 0 else even_rms for i in range(len(sizes))]
        own = [jnp.sqrt(jnp.mean(jnp.square(w))) for w in params.weights[:1]]
        skips = [jnp.sqrt(jnp.mean(jnp.square(w))) for w in params.skip_weights]
        return eqx.tree_at(
            lambda m: (m.weights, m.biases, m.skip_weights),
            params,
            (
                tuple(own + [w_rms] * len(layer_matrices)),
                tuple(bias_rms),
                tuple(skips),
            ),
        )

    return reference_rms
