r"""A fixed-point solve whose gradient comes from the implicit function theorem.

`implicit_fixed_point(fn, solver, y0, params, ...)` finds $y^* = f(y^*, \theta)$ with any
Optimistix fixed-point solver and differentiates it through `jax.custom_vjp` (via
`equinox.filter_custom_vjp`): the backward pass solves the adjoint fixed point at $y^*$
with the chosen [`hopjax.AbstractBackward`][] and never backpropagates through the
forward iterations. It knows nothing of Hopfield networks.
"""

from collections.abc import Callable
from typing import Any

import equinox as eqx
import jax
import jax.numpy as jnp
import optimistix as optx
from jaxtyping import PyTree

from ._adjoint import AbstractBackward, UnrolledBackprop
from ._solver._monitor import ConvergenceMonitor


def _run(fn, solver, y0, params, max_steps, options, adjoint):
    solution = optx.fixed_point(
        fn,
        solver,
        y0,
        params,
        options,
        max_steps=max_steps,
        adjoint=adjoint,
        throw=False,
    )
    return solution.value, solution.state.monitor


@eqx.filter_custom_vjp
def _implicit(params, fn, solver, y0, max_steps, backward, options):
    del backward
    return _run(fn, solver, y0, params, max_steps, options, optx.ImplicitAdjoint())


@_implicit.def_fwd
def _implicit_fwd(perturbed, params, fn, solver, y0, max_steps, backward, options):
    del perturbed
    out = _implicit(params, fn, solver, y0, max_steps, backward, options)
    return out, out[0]


@_implicit.def_bwd
def _implicit_bwd(
    y_star, grad_obj, perturbed, params, fn, solver, y0, max_steps, backward, options
):
    del perturbed, y0, max_steps, options
    grad_y, _ = grad_obj
    cotangent = jax.tree.map(
        lambda y, g: jnp.zeros_like(y) if g is None and y is not None else g,
        y_star,
        grad_y,
        is_leaf=lambda v: v is None,
    )
    _, vjp_states = eqx.filter_vjp(lambda y: fn(y, params), y_star)
    w = backward.adjoint_vector(lambda v: vjp_states(v)[0], cotangent, solver)
    _, vjp_params = eqx.filter_vjp(lambda p: fn(y_star, p), params)
    (grad_params,) = vjp_params(w)
    return grad_params


def implicit_fixed_point(
    fn: Callable[[PyTree, PyTree], PyTree],
    solver: optx.AbstractFixedPointSolver,
    y0: PyTree,
    params: PyTree,
    *,
    max_steps: int,
    backward: AbstractBackward,
    options: dict[str, Any] | None = None,
) -> tuple[PyTree, ConvergenceMonitor]:
    r"""Solve $y^* = \text{fn}(y^*, \text{params})$ from `y0`; differentiable in `params`.

    **Arguments:**

    - `fn`: the map, `fn(y, params) -> y` (same structure in and out).
    - `solver`: a hopjax fixed-point solver ([`hopjax.Picard`][], [`hopjax.Anderson`][]),
        whose state carries the convergence monitor.
    - `y0`: the initial guess (not differentiated).
    - `params`: every differentiable input of `fn`.
    - `max_steps`: the largest number of steps (calls of `fn`).
    - `backward`: the backward mode; [`hopjax.UnrolledBackprop`][] differentiates
        through the iterations instead of using the implicit function theorem.
    - `options`: passed to the solver (`trace_length`, `early_stop`).

    **Returns:** `(y_star, monitor)`: the solution and the solver's convergence record.
    """
    options = {} if options is None else options
    if isinstance(backward, UnrolledBackprop):
        adjoint = optx.RecursiveCheckpointAdjoint()
        return _run(fn, solver, y0, params, max_steps, options, adjoint)
    return _implicit(params, fn, solver, y0, max_steps, backward, options)
