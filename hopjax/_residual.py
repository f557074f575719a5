r"""How far states are from an equilibrium of the network's own equations."""

from collections.abc import Sequence

import jax
import jax.numpy as jnp
from jaxtyping import Array, Float

from ._checks import check_input, check_states
from ._maps import input_drive, synchronous_map
from ._model import AbstractHopfieldNetwork
from ._solver._monitor import relative_change


def equation_residual(
    model: AbstractHopfieldNetwork,
    x: Float[Array, "*batch d0"],
    states: Sequence[Float[Array, "*batch _"]],
) -> Float[Array, "*batch"]:
    r"""The relative residual of the network's equilibrium equations at `states`,
    $\lVert f(s) - s\rVert_2 / \lVert s\rVert_2$ per sample, where $f$ is the
    synchronous map: main paper Eq. (6) for a HAM ($f(s) = W\rho(s) + b + U\rho(x)$) and
    Eq. (5) for a CHN ($f(s) = \rho'(s)\odot(W\rho(s) + b + U\rho(x))$).

    Every equilibrium of every update scheme is a zero of it, so it is the
    scheme-independent check that a solve found what it claims.
    [`hopjax.Equilibrium`][]`.converged` only says the iteration stopped moving; the two
    can disagree for an even-odd CHN, whose map solves each layer's local equilibrium
    with a fixed number of damped inner iterations: at strong fields (with the papers'
    inner damping 0.5, fields above about 2.3) the inner iteration 2-cycles, and an even
    number of inner steps then returns the same state every time, which the outer
    iteration reports as converged although it is no equilibrium. A residual far above
    the solve's `rtol` flags those samples; a larger `inner_damping` (e.g. 0.8) avoids
    them.

    **Arguments:**

    - `model`: a [`hopjax.HAM`][] or [`hopjax.CHN`][].
    - `x`: the input, `(d_0,)` or a batch `(batch, d_0)`.
    - `states`: every state layer `(s_1, ..., s_L)`, e.g. `Equilibrium.states`, batched
        like `x`.

    **Returns:** the relative residual, a scalar or one per sample (0 when $f(s) = s$,
    also at $s = 0$; $\infty$ when only $s$ is 0).
    """
    x = check_input("equation_residual", model, x)
    states = check_states("equation_residual", model, x, states)
    if x.ndim == 2:
        return jax.vmap(equation_residual, in_axes=(None, 0, 0))(model, x, states)
    new = synchronous_map(model, input_drive(model, x), states)
    return relative_change(jnp.concatenate(states), jnp.concatenate(new))[2]
