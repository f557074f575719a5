r"""The RMS of each parameter as the papers' code stores it, which sets Madam's bound."""

from collections.abc import Callable

import equinox as eqx
import jax.numpy as jnp
from jaxtyping import Array, Float

from .._model import AbstractHopfieldNetwork
from ._madam import tensor_rms


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
        layer_matrices = params.weights[1:]
        odd_biases, even_biases = params.biases[0::2], params.biases[1::2]  # layers 1, 3, ...
        n_odd = sum(b.shape[-1] for b in odd_biases)
        n_even = sum(b.shape[-1] for b in even_biases)
        if update == "synchronous":
            n = n_odd + n_even
            w_rms = _pooled_rms([*layer_matrices, *layer_matrices], n * n)
            bias_rms = (_pooled_rms(params.biases, n),) * 2
        else:
            w_rms = _pooled_rms(layer_matrices, n_odd * n_even)
            bias_rms = (_pooled_rms(odd_biases, n_odd), _pooled_rms(even_biases, n_even))
        return eqx.tree_at(
            lambda m: (m.weights, m.biases, m.skip_weights),
            params,
            (
                (tensor_rms(params.weights[0]),) + (w_rms,) * len(layer_matrices),
                tuple(bias_rms[i % 2] for i in range(len(params.biases))),
                tuple(tensor_rms(w) for w in params.skip_weights),
            ),
        )

    return reference_rms
