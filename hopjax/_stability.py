r"""Whether an equilibrium attracts the iteration that `solve` runs: the spectral radius
of the fixed-point map's Jacobian there."""

from collections.abc import Sequence

import equinox as eqx
import jax
import jax.numpy as jnp
import optimistix as optx
from jaxtyping import Array, Float, PRNGKeyArray

from ._checks import check_input, check_key, check_positive_int, check_states
from ._maps import initial_states, input_drive, iterated_map
from ._model import AbstractHopfieldNetwork


def spectral_radius(
    model: AbstractHopfieldNetwork,
    x: Float[Array, "*batch d0"],
    states: Sequence[Float[Array, "*batch _"]],
    *,
    update: str = "synchronous",
    damping: float | None = None,
    iterations: int = 200,
    key: PRNGKeyArray | None = None,
) -> Float[Array, "*batch"]:
    r"""The spectral radius $\varrho(J)$ of $J = \partial F/\partial s$ at `states`,
    where $F$ is the map that [`hopjax.solve`][]`(model, x, update=update,
    damping=damping)` iterates: the synchronous or even-odd map, damped to
    $F(s) = \beta s + (1 - \beta) f(s)$ when $\beta > 0$ (by default the papers'
    damping, 0.5 for a synchronous CHN).

    At an equilibrium $s^*$ this says how the fixed point behaves:

    - $\varrho(J) < 1$: $s^*$ attracts Picard iteration (locally, at the rate
      $\varrho$), and the $K$-term recurrent-backprop series
      $\sum_{k<K} (J^T)^k g$ ([`hopjax.RecurrentBackprop`][]) converges to the implicit
      gradient $(I - J^T)^{-1} g$.
    - $\varrho(J) > 1$: $s^*$ repels Picard iteration, which then cannot converge to it
      (it drifts away, often into a 2-cycle when the leading eigenvalue is negative),
      although Anderson acceleration may still find it; the truncated series grows like
      $\varrho^K$ and is no gradient at all, while [`hopjax.GMRESAdjoint`][] or
      [`hopjax.FixedPointAdjoint`][] with Anderson still solve the adjoint system.

    Estimated by power iteration with Jacobian-vector products: $\varrho$ is the
    geometric mean of the growth $\lVert J v_k \rVert / \lVert v_k \rVert$ over the
    second half of `iterations` steps, which also converges when the leading eigenvalues
    are a complex pair. The error shrinks with the gap between the two largest
    eigenvalue moduli; take more `iterations` if two are close.

    **Arguments:**

    - `model`: a [`hopjax.HAM`][] or [`hopjax.CHN`][].
    - `x`: the input, `(d_0,)` or a batch `(batch, d_0)`.
    - `states`: every state layer `(s_1, ..., s_L)`, e.g. `Equilibrium.states`, batched
        like `x`. For an even-odd HAM only the output's parity enters the map.
    - `update`: `"synchronous"` (default) or `"even_odd"`.
    - `damping`: $\beta \in [0, 1)$ as in [`hopjax.solve`][]; `None` takes the papers'.
    - `iterations`: power-iteration steps (at least 2).
    - `key`: the random start vector's key (default `jax.random.key(0)`).

    **Returns:** $\varrho(J)$, a scalar or one per sample.
    """
    fixed_point_map = iterated_map("spectral_radius", model, update, damping)
    iterations = check_positive_int("spectral_radius iterations", iterations)
    if iterations < 2:
        raise ValueError(f"spectral_radius needs at least 2 iterations, got {iterations}.")
    x = check_input("spectral_radius", model, x)
    states = check_states("spectral_radius", model, x, states)
    if key is None:
        key = jax.random.key(0)
    check_key("spectral_radius", key)
    return _power_iteration(fixed_point_map, update, iterations, model, x, states, key)


@eqx.filter_jit  # compiled once per map and shape, also when called eagerly
def _power_iteration(fixed_point_map, update, iterations, model, x, states, key):
    def one_sample(x, states):
        pattern = initial_states(model, update, states[0].dtype)
        point = tuple(None if p is None else s for p, s in zip(pattern, states))
        drive = input_drive(model, x)

        def jvp(v):
            return jax.jvp(lambda s: fixed_point_map(model, drive, s), (point,), (v,))[1]

        keys = jax.random.split(key, len(point))
        start = tuple(
            None if s is None else jax.random.normal(k, s.shape, s.dtype)
            for k, s in zip(keys, point)
        )
        start_norm = optx.two_norm(start)
        start = jax.tree.map(lambda a: a / start_norm, start)

        def power_step(v, _):
            w = jvp(v)
            growth = optx.two_norm(w)
            safe = jnp.maximum(growth, jnp.finfo(growth.dtype).tiny)  # J v = 0: radius 0
            return jax.tree.map(lambda a: a / safe, w), jnp.log(growth)

        _, log_growth = jax.lax.scan(power_step, start, None, length=iterations)
        return jnp.exp(jnp.mean(log_growth[iterations // 2 :]))

    return jax.vmap(one_sample)(x, states) if x.ndim == 2 else one_sample(x, states)
