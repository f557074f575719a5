r"""A fixed-point solve whose gradient comes from the implicit function theorem.

`implicit_fixed_point(fn, solver, y0, params, ...)` finds $y^* = f(y^*, \theta)$ with a
hopjax fixed-point solver and differentiates it through `jax.custom_vjp` (via
`equinox.filter_custom_vjp`): the backward pass solves the adjoint fixed point at $y^*$
with the chosen [`hopjax.AbstractBackward`][] and never backpropagates through the
forward iterations. It knows nothing of Hopfield networks.
"""

from collections.abc import Callable, Mapping
from typing import Any

import equinox as eqx
import jax
import jax.numpy as jnp
import optimistix as optx
from jaxtyping import PyTree

from ._adjoint import AbstractBackward, UnrolledBackprop, UnrolledRecurrentBackprop
from ._checks import check_flag, check_positive_int, is_count, is_flag, traced_paths
from ._nonconvergence import report_adjoint
from ._solver._monitor import ConvergenceMonitor
from ._solver.anderson import Anderson
from ._solver.picard import Picard


def check_solver_and_backward(solver, backward) -> None:
    """Refuse a solver without the per-sample convergence record, a backward that is
    not a hopjax mode, or either with traced fields, before anything runs (they would
    fail late and obscurely)."""
    if not isinstance(solver, (Picard, Anderson)):
        raise TypeError(
            "solver must be a hopjax fixed-point solver (hopjax.Picard() or "
            "hopjax.Anderson(): Optimistix solvers that record the papers' per-sample "
            f"convergence test), got {type(solver).__name__}."
        )
    if not isinstance(backward, AbstractBackward):
        raise TypeError(
            "backward must be a hopjax backward mode (FixedPointAdjoint, "
            "RecurrentBackprop, UnrolledRecurrentBackprop, GMRESAdjoint, "
            f"UnrolledBackprop), got {backward!r}."
        )
    for name, module in (("solver", solver), ("backward", backward)):
        traced = traced_paths(module)
        if traced:  # passed through jax.jit as an argument: GMRESAdjoint failed deep inside
            raise TypeError(
                f"{name}={type(module).__name__}(...) has fields traced by jax.jit / jax.vmap / "
                f"jax.grad ({', '.join(traced)}), where concrete Python numbers are needed (they "
                "fix the compiled program): close over it, or pass it through "
                "equinox.filter_jit, which keeps Python numbers static."
            )


_OPTIONS = {
    "trace_length": ("an integer >= 0", lambda value: is_count(value, minimum=0)),
    "early_stop": ("True or False", is_flag),
}
"""The solver options hopjax's solvers read: what each must be, and its test."""


def _check_options(options) -> dict[str, Any]:
    """``options`` as a dict of known solver options (``{}`` for None), or an error
    naming the unknown or malformed one (the solvers would ignore a misspelt key)."""
    if options is None:
        return {}
    if not isinstance(options, Mapping):
        raise TypeError(
            f"implicit_fixed_point: options must be a dict ({', '.join(_OPTIONS)}), got "
            f"{type(options).__name__}."
        )
    for key, value in options.items():
        if key not in _OPTIONS:
            raise ValueError(
                f"implicit_fixed_point: unknown solver option {key!r}; the solvers read "
                f"{sorted(_OPTIONS)}."
            )
        expected, is_valid = _OPTIONS[key]
        if not is_valid(value):
            raise ValueError(
                f"implicit_fixed_point: option {key!r} must be {expected}, got {value!r}."
            )
    return dict(options)


def _run(fn, solver, y0, params, max_steps, options, adjoint, batch_axes):
    def run_one(y0, params):
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

    if batch_axes is None:
        return run_one(y0, params)
    return eqx.filter_vmap(run_one, in_axes=batch_axes)(y0, params)


@eqx.filter_custom_vjp
def _implicit(params, fn, solver, y0, max_steps, backward, options, batch_axes, throw):
    del backward, throw
    adjoint = optx.ImplicitAdjoint()
    return _run(fn, solver, y0, params, max_steps, options, adjoint, batch_axes)


@_implicit.def_fwd
def _implicit_fwd(
    perturbed, params, fn, solver, y0, max_steps, backward, options, batch_axes, throw
):
    del perturbed
    out = _implicit(params, fn, solver, y0, max_steps, backward, options, batch_axes, throw)
    return out, out[0]


@_implicit.def_bwd
def _implicit_bwd(
    y_star,
    grad_obj,
    perturbed,
    params,
    fn,
    solver,
    y0,
    max_steps,
    backward,
    options,
    batch_axes,
    throw,
):
    del perturbed, y0, max_steps, options
    grad_y, _ = grad_obj
    cotangent = jax.tree.map(
        lambda y, g: jnp.zeros_like(y) if g is None and y is not None else g,
        y_star,
        grad_y,
        is_leaf=lambda v: v is None,
    )
    return _parameter_cotangent(
        y_star, cotangent, params, fn, solver, backward, batch_axes, throw
    )


# Compiled on its own so that an eager `jax.grad` compiles the backward pass once: run
# op by op, the adjoint solve's closures are new functions at every call, which
# Optimistix's own jit would compile again each time. Inside an outer `jax.jit` it is
# inlined.
@eqx.filter_jit
def _parameter_cotangent(y_star, cotangent, params, fn, solver, backward, batch_axes, throw):
    if batch_axes is None:
        batched_fn = fn
    else:
        batched_fn = eqx.filter_vmap(fn, in_axes=(0, batch_axes[1]))
    if isinstance(backward, UnrolledRecurrentBackprop):
        return backward.parameter_cotangent(batched_fn, y_star, params, cotangent)

    def adjoint_one(y_star, cotangent, params):
        _, vjp_states = eqx.filter_vjp(lambda y: fn(y, params), y_star)
        return backward.adjoint_vector(lambda v: vjp_states(v)[0], cotangent, solver)

    if batch_axes is None:
        w, solved = adjoint_one(y_star, cotangent, params)
    else:
        # Each sample's adjoint is solved on its own (its own convergence), but the
        # parameter VJP goes through the batched map, so the cotangent of a shared
        # parameter is one batched product, never a per-sample copy summed afterwards.
        _, params_axis = batch_axes
        w, solved = eqx.filter_vmap(adjoint_one, in_axes=(0, 0, params_axis))(
            y_star, cotangent, params
        )
    report_adjoint(type(backward).__name__, throw, solved)
    _, vjp_params = eqx.filter_vjp(lambda p: batched_fn(y_star, p), params)
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
    batch_axes: tuple[Any, Any] | None = None,
    throw: bool = False,
) -> tuple[PyTree, ConvergenceMonitor]:
    r"""Solve $y^* = \text{fn}(y^*, \text{params})$ from `y0`; differentiable in `params`.

    The gradient is implicit: for a cotangent $g = \partial\ell/\partial y^*$,
    $\partial\ell/\partial\theta = (\partial f/\partial\theta)^T w$ at $y^*$, where
    $w$ solves the adjoint fixed point $w = J^T w + g$, $J = \partial f/\partial y$
    at $y^*$ (found by `backward`). The forward iterations are never differentiated.

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
    - `batch_axes`: `None` for one problem, or a batch of independent problems given
        as `jax.vmap`'s `in_axes` for `(y0, params)`, e.g. `(None, (None, 0))` for a
        shared `y0`, shared weights and per-sample inputs. Each problem is solved, and
        its adjoint found, on its own (per-sample convergence), but the parameter VJP
        $\sum_b (\partial f/\partial\theta)^T w_b$ runs through the batched map, so
        a shared parameter's cotangent is one batched matrix product rather than a
        per-sample copy of the parameter summed afterwards (what `jax.vmap` of the
        single-problem version computes).
    - `throw`: what the backward pass does when `backward` did not find the adjoint
        for some problems (see [`hopjax.AbstractBackward`][]): warn
        ([`hopjax.AdjointNonConvergenceWarning`][], default) or, if True, raise
        [`hopjax.NonConvergenceError`][] (wrapped in a `jax.errors.JaxRuntimeError`:
        the backward pass runs compiled). The forward solve never raises here: its
        record is returned.

    **Returns:** `(y_star, monitor)`: the solution and the solver's convergence record,
    batch-leading when `batch_axes` is given. The record carries no gradient (it is
    `jax.lax.stop_gradient`-ed) unless `backward` is [`hopjax.UnrolledBackprop`][]:
    the implicit gradient is that of the solution alone.

    **Raises:** `TypeError` for a solver other than [`hopjax.Picard`][] /
    [`hopjax.Anderson`][], a `backward` that is not a hopjax mode, or a `y0` that is
    not floating point; `TypeError` / `ValueError` naming a `max_steps` that is not a
    positive integer, a `throw` that is not a bool, or an unknown or malformed option.
    """
    check_solver_and_backward(solver, backward)
    max_steps = check_positive_int("implicit_fixed_point: max_steps", max_steps)
    check_flag("implicit_fixed_point: throw", throw)
    options = _check_options(options)
    if not all(jnp.issubdtype(jnp.result_type(leaf), jnp.inexact) for leaf in jax.tree.leaves(y0)):
        raise TypeError(
            "implicit_fixed_point: y0 must be floating-point arrays (the iterates are), "
            f"got {jax.tree.map(lambda leaf: jnp.result_type(leaf).name, y0)}."
        )
    if isinstance(backward, UnrolledBackprop):
        adjoint = optx.RecursiveCheckpointAdjoint()
        return _run(fn, solver, y0, params, max_steps, options, adjoint, batch_axes)
    y_star, monitor = _implicit(
        params, fn, solver, y0, max_steps, backward, options, batch_axes, throw
    )
    return y_star, jax.lax.stop_gradient(monitor)
