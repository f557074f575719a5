r"""Energies of layered Hopfield networks with the input clamped (one sample)."""

from collections.abc import Sequence

import jax.numpy as jnp
from jaxtyping import Array, Float

from ._checks import check_input, check_states
from ._model import AbstractHopfieldNetwork
from ._precision import matmul


def energy(
    model: AbstractHopfieldNetwork,
    x: Float[Array, " d0"],
    states: Sequence[Float[Array, " _"]],
) -> Float[Array, ""]:
    r"""The energy of one sample's states with the input $s_0 = x$ clamped.

    HAM, main paper Eq. (3) with an additive Lagrangian:
    $E = \sum_{j\ge1} \big(s_j^T\rho(s_j) - \mathcal{L}(s_j) - b_j^T\rho(s_j)\big)
    - \sum_{(i,j)} \rho(s_i)^T W_{ij}\, \rho(s_j)$.

    CHN, main paper Eq. (1): the same with $\tfrac12\lVert s_j\rVert^2$ in place of
    $s_j^T\rho(s_j) - \mathcal{L}(s_j)$.

    The sum over connections $(i, j)$ counts each symmetric pair once (the $\tfrac12$ of
    $\tfrac12\rho^T W\rho$ cancels against the two blocks $W_{ij}$, $W_{ij}^T$) and
    includes the input connections with $\rho(s_0) = \rho(x)$. The fixed-point maps are
    its stationarity conditions: $\partial E/\partial s_j = \rho'(s_j)(s_j - C_j)$ (HAM)
    and $s_j - \rho'(s_j) C_j$ (CHN). Even-odd updates of a HAM never increase it.

    **Arguments:**

    - `model`: a [`hopjax.HAM`][] or [`hopjax.CHN`][].
    - `x`: one input sample, shape `(d_0,)` (use `jax.vmap` for a batch).
    - `states`: `(s_1, ..., s_L)`, one array per state layer (all of them: fill in an
        even-odd solve's missing parity with [`hopjax.reconstruct_states`][]).

    **Returns:** the scalar energy $E$.
    """
    x = check_input("energy", model, x, batch=False)
    states = check_states("energy", model, x, states)
    rho = (model.activation(x),) + tuple(model.activation(s) for s in states)
    total = jnp.zeros((), rho[1].dtype)
    for s, r, b in zip(states, rho[1:], model.biases):
        total = total + model.self_energy(s) - matmul(b, r)
    for i, j, w in model.edges:
        total = total - matmul(matmul(rho[i], w), rho[j])
    return total
