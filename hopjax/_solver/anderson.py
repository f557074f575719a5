from collections.abc import Callable

import equinox as eqx
import jax
import jax.numpy as jnp
import optimistix as optx
from jax.flatten_util import ravel_pytree
from jaxtyping import Array, Float, Int, PyTree, Scalar

from .._checks import (
    as_python_number,
    check_damping,
    check_flag,
    check_tolerances,
    describe_number,
    is_finite_real,
)
from .._dtypes import at_least_float32
from .._precision import matmul
from ._monitor import (
    ConvergenceMonitor,
    init_monitor,
    record,
    should_stop,
    two_norm,
)


class _AndersonState(eqx.Module):
    iterates: Float[Array, "m n"]  # x_{k-m+1} .. x_k, oldest first
    images: Float[Array, "m n"]  # g(x_{k-m+1}) .. g(x_k)
    count: Int[Array, ""]  # how many of the m columns hold data
    monitor: ConvergenceMonitor


def _shift_in(history: Float[Array, "m n"], new: Float[Array, " n"]):
    return jnp.concatenate([history[1:], new[None]], axis=0)


def anderson_weights(
    residuals: Float[Array, "m n"], valid: Array, regularisation: float
) -> Float[Array, " m"]:
    r"""$\alpha = \arg\min_{\sum\alpha = 1} \lVert F^T\alpha\rVert_2^2 /
    \operatorname{tr}(F F^T) + \lambda \lVert\alpha\rVert_2^2$ over the valid rows of
    $F$ (the residuals $g(x_i) - x_i$).

    Solved through the normal equations $(\hat A + \lambda I)\,\alpha \propto 1$ with
    $\hat A = F F^T / \operatorname{tr}(F F^T)$: normalising by the trace makes the ridge
    $\lambda$ relative to the residuals' size, so it keeps working as they shrink. Empty
    rows get weight 0. A singular system yields non-finite weights, which the caller
    treats as "no Anderson step".

    **Arguments:**

    - `residuals`: $F$, shape `(m, n)`: row $i$ is $g(x_i) - x_i$, oldest first.
    - `valid`: boolean, shape `(m,)`: which rows hold data.
    - `regularisation`: the relative ridge $\lambda \ge 0$.

    **Returns:** $\alpha$, shape `(m,)`, summing to 1, in the dtype of `residuals`
    (computed in at least float32: LAPACK has no half-precision solve).
    """
    m = residuals.shape[0]
    dtype = residuals.dtype
    residuals = residuals.astype(at_least_float32(dtype))
    gram = matmul(residuals, residuals.T)
    mask = valid[:, None] & valid[None, :]
    gram = jnp.where(mask, gram, 0)
    scale = jnp.trace(gram)
    gram = gram / jnp.where(scale > 0, scale, 1)
    eye = jnp.eye(m, dtype=gram.dtype)
    system = gram + jnp.where(valid, regularisation, 1)[:, None] * eye
    ones = valid.astype(gram.dtype)

    def normalised_solution(system):
        alpha = jnp.linalg.solve(system, ones)
        return alpha / jnp.sum(alpha)

    # A singular system gives non-finite weights (the caller then takes a plain step).
    # Solve again with the identity in its place so that no NaN enters the gradient of
    # the branch the caller discards (0 * NaN is NaN under differentiation).
    probe = jax.lax.stop_gradient(normalised_solution(system))
    singular = ~jnp.all(jnp.isfinite(probe))
    alpha = normalised_solution(jnp.where(singular, eye, system))
    return jnp.where(singular, jnp.nan, alpha).astype(dtype)


class Anderson(optx.AbstractFixedPointSolver):
    r"""Anderson acceleration (Walker & Ni 2011, no mixing) with the papers' safeguard.

    Keeps the last `history` pairs $(x_i, g(x_i))$, where
    $g(x) = \beta x + (1 - \beta) f(x)$ is the (optionally damped) map, and proposes
    $\tilde x = \sum_i \alpha_i\, g(x_i)$ with $\alpha$ from
    [`hopjax.anderson_weights`][] (the least-squares combination of residuals
    $g(x_i) - x_i$, ridge-regularised relative to their size). Per sample, the proposal
    is kept only if it is relatively closer to the newest image than the current iterate
    was, $\lVert g(x_k) - \tilde x\rVert / \lVert\tilde x\rVert <
    \lVert g(x_k) - x_k\rVert / \lVert x_k\rVert$; otherwise (and whenever the
    least-squares system is singular) the plain step $x_{k+1} = g(x_k)$ is taken.
    With `safeguard=False` every finite proposal is taken (plain Walker-Ni Anderson,
    which extrapolates further on slowly contracting problems but may diverge).
    One call of $f$ per step. The first step is a plain step.

    Convergence (per sample): consecutive images satisfy
    $\lVert g(x_k) - g(x_{k-1})\rVert_2 < \text{atol} + \text{rtol}\lVert g(x_k)\rVert_2$
    (the papers' test on the map outputs); the solution is the newest image $g(x_k)$,
    as in the papers' code.
    """

    rtol: float = eqx.field(default=1e-4, converter=as_python_number)
    atol: float = eqx.field(default=0.0, converter=as_python_number)
    history: int = eqx.field(default=4, converter=as_python_number)
    regularisation: float = eqx.field(default=1e-8, converter=as_python_number)
    damping: float = eqx.field(default=0.0, converter=as_python_number)
    safeguard: bool = True
    norm: Callable[[PyTree], Scalar] = two_norm

    def __check_init__(self):
        check_tolerances("Anderson", self.rtol, self.atol)
        check_damping("Anderson", self.damping)
        if isinstance(self.history, bool) or not isinstance(self.history, int):
            raise TypeError(
                f"Anderson needs an integer history, got {describe_number(self.history)}."
            )
        if self.history < 1:
            raise ValueError(f"Anderson needs history >= 1, got {self.history}.")
        check_flag("Anderson's safeguard", self.safeguard)
        if not (is_finite_real(self.regularisation) and self.regularisation >= 0):
            raise ValueError(
                "Anderson needs a finite, non-negative regularisation, got "
                f"{describe_number(self.regularisation)}."
            )

    def init(self, fn, y, args, options, f_struct, aux_struct, tags):
        del fn, args, f_struct, aux_struct, tags
        flat, _ = ravel_pytree(y)
        empty = jnp.zeros((self.history, flat.shape[0]), flat.dtype)
        return _AndersonState(empty, empty, jnp.array(0), init_monitor(flat, options))

    def step(self, fn, y, args, options, state, tags):
        del tags
        f_y, aux = fn(y, args)
        x, unravel = ravel_pytree(y)
        flat_f, _ = ravel_pytree(f_y)
        g = self.damping * x + (1 - self.damping) * flat_f
        previous = jnp.where(state.count > 0, state.images[-1], x)
        monitor = record(state.monitor, g, previous, self.rtol, self.atol)

        iterates = _shift_in(state.iterates, x)
        images = _shift_in(state.images, g)
        count = jnp.minimum(state.count + 1, self.history)
        valid = jnp.arange(self.history) >= self.history - count
        alpha = anderson_weights(images - iterates, valid, self.regularisation)
        finite = jnp.all(jnp.isfinite(alpha))
        # Non-finite weights mean "no Anderson step"; keep them out of the arithmetic
        # so that no NaN reaches the gradient of the discarded proposal.
        proposal = matmul(jnp.where(finite, alpha, 0), images)
        accept = finite & jnp.all(jnp.isfinite(proposal))
        if self.safeguard:
            accept = accept & (_distance_ratio(g, proposal) < _distance_ratio(g, x))
        new_x = jnp.where(accept, proposal, g)
        return unravel(new_x), _AndersonState(iterates, images, count, monitor), aux

    def terminate(self, fn, y, args, options, state, tags):
        del fn, y, args, tags
        return should_stop(state.monitor, options), optx.RESULTS.successful

    def postprocess(self, fn, y, aux, args, options, state, tags, result):
        del fn, args, options, tags, result
        flat, unravel = ravel_pytree(y)
        newest_image = jnp.where(state.count > 0, state.images[-1], flat)
        return unravel(newest_image), aux, {}


def _distance_ratio(target, point) -> Scalar:
    """``||target - point|| / ||point||``; infinite when ``point`` is zero (so a zero
    iterate never wins the safeguard's comparison by accident)."""
    delta, size = two_norm(target - point), two_norm(point)
    return jnp.where(size > 0, delta / jnp.where(size > 0, size, 1), jnp.inf)


Anderson.__init__.__doc__ = """**Arguments:**

- `rtol`: relative tolerance of the convergence test (the papers: `1e-4`).
- `atol`: absolute tolerance of the convergence test (default `0`).
- `history`: number $m$ of stored pairs $(x_i, g(x_i))$, the newest included (the
    papers: 4).
- `regularisation`: ridge $\\lambda$ relative to the trace of $F F^T$.
- `damping`: $\\beta \\in [0, 1)$, mixes the map with the identity before acceleration.
- `safeguard`: the papers' per-sample safeguard (default True).
- `norm`: kept for Optimistix compatibility; the test always uses the 2-norm.
"""
