"""`solve`: the equilibrium of a Hopfield network for one input or a batch."""

from collections.abc import Sequence
from typing import Literal

import equinox as eqx
import jax
import jax.numpy as jnp
from jaxtyping import Array, Bool, Float, Int

from ._adjoint import AbstractBackward, FixedPointAdjoint
from ._checks import (
    check_finite,
    check_flag,
    check_input,
    check_model,
    check_positive_int,
    check_states,
    check_tolerances,
)
from ._implicit import check_solver_and_backward, implicit_fixed_point
from ._maps import initial_states, input_drive, iterated_map, reconstruct_states
from ._model import AbstractHopfieldNetwork
from ._nonconvergence import raise_if_failed
from ._solver.anderson import Anderson
from ._solver.picard import Picard


class Equilibrium(eqx.Module):
    """The result of [`hopjax.solve`][]. Every field is batch-leading for a batch.

    - `states`: `(s_1, ..., s_L)`, the equilibrium of every state layer; `states[-1]` is
        the output layer.
    - `num_steps`: per sample, the number of map evaluations until the convergence test
        first passed (`max_steps` if it never did).
    - `residual`: per sample, the relative change
        $\\lVert F_n - F_{n-1}\\rVert_2 / \\lVert F_n\\rVert_2$ at the last step
        (like `trace`, it carries no gradient unless `backward=UnrolledBackprop()`).
    - `converged`: per sample, whether the test passed at the last step taken (the
        returned states: with `early_stop=False` a sample that passed once and drifted
        off again by `max_steps` is not converged, though `num_steps` and
        `paper_iterations` count its first pass) and the states are finite. It says
        the iteration stopped moving; [`hopjax.equation_residual`][] checks that
        the states solve the network's equations (they can differ for an even-odd CHN
        whose inner iterations 2-cycle: see [`hopjax.CHN`][]).
    - `paper_iterations`: per sample, the papers' Table-2 count: the 0-based index of the
        first of two consecutive map outputs within `rtol`, i.e. `num_steps - 2`, and
        `max_steps - 1` for a sample that did not converge (or, as the papers' code,
        that converged at index 0, as a solve started at its equilibrium with `init`
        does: read `num_steps` and `converged` there). It equals the papers' number
        when `max_steps` is their fixed iteration count (40 / 80 / 120 for 3 / 5 / 7
        layers).
    - `trace`: per sample and step, the relative change (NaN after the solve stopped);
        `None` unless `solve(..., trace=True)`.
    """

    states: tuple[Float[Array, "*batch _"], ...]
    num_steps: Int[Array, "*batch"]
    residual: Float[Array, "*batch"]
    converged: Bool[Array, "*batch"]
    paper_iterations: Int[Array, "*batch"]
    trace: Float[Array, "*batch max_steps"] | None

    @property
    def output(self) -> Float[Array, "*batch d_L"]:
        """The output layer's state, `states[-1]`."""
        return self.states[-1]


def solve(
    model: AbstractHopfieldNetwork,
    x: Float[Array, "*batch d0"],
    *,
    update: Literal["even_odd", "synchronous"] = "even_odd",
    solver: Picard | Anderson | None = None,
    rtol: float | None = None,
    max_steps: int = 200,
    damping: float | None = None,
    init: Sequence[Float[Array, "*batch _"]] | None = None,
    backward: AbstractBackward = FixedPointAdjoint(),
    throw: bool = False,
    trace: bool = False,
    early_stop: bool = True,
) -> Equilibrium:
    r"""Find the equilibrium of `model` with input `x` clamped.

    Iterates the fixed-point map of the chosen update scheme with `solver`:

    - `"synchronous"`: every layer at once, main paper Eq. (6) (HAM) / Eq. (5) (CHN).
    - `"even_odd"`: even-odd splitting, Eq. (9)/(10): only the output's parity is the
        fixed-point state; the other parity is reconstructed after convergence. For a
        CHN each half-step runs the model's inner iterations.

    The solve is per sample (convergence, step counts) and batches through `jax.vmap`;
    it runs under `jax.jit` / `equinox.filter_jit`, on CPU and GPU, in the floating
    dtype that `x` and the model's parameters promote to (a float32 model solves
    float32 and bfloat16 inputs in float32, float64 ones in float64), with matrix
    products at that dtype's full precision on every device (float32 arithmetic for
    float32, not a GPU's default TensorFloat-32) unless a precision is chosen with
    `jax.default_matmul_precision`. A float16 or
    bfloat16 model solves in half precision (Anderson's least squares and
    `GMRESAdjoint` run in float32 inside); its rounding, about 1e-3 / 8e-3, is above
    the default `rtol`, so give a looser one (1e-3 / 1e-2) or expect samples to be
    reported not converged. That test bounds the last step, not the distance to the
    equilibrium, which is larger where the iteration crawls: mostly about `rtol`, but a
    bfloat16 CHN sample has stopped 0.46 from its float32 equilibrium (output layer, max
    norm); a float32 solve started there (`init=eq.states`) refines it. Half-precision
    gradients were within a few tens of the dtype's `eps` of float32's (relative) where
    the map contracts well (spectral radii below 0.7), but thousands of `eps` off at
    samples whose [`hopjax.spectral_radius`][] at `eq.states` is above 1: there half
    precision can stop far from the equilibrium. Gradients
    (`jax.grad` of any loss of the states, w.r.t. the model's parameters and `x`) come
    from the implicit function theorem (see `backward`). Differentiation is reverse mode
    (`jax.grad`, `jax.vjp`, `jax.jacrev`): the solve is a `jax.custom_vjp`, so forward
    mode (`jax.jvp`, `jax.jacfwd`, `jax.hessian`) raises JAX's "can't apply
    forward-mode autodiff (jvp) to a custom_vjp function"; take Jacobians with
    `jax.jacrev`. Reverse over reverse works (`jax.grad` of a gradient, a gradient
    penalty, Hessians as `jax.jacrev(jax.jacrev(f))`): each derivative of the
    equilibrium is again implicit, by the same `backward`, so it is exact with
    [`hopjax.FixedPointAdjoint`][] / [`hopjax.GMRESAdjoint`][];
    [`hopjax.UnrolledBackprop`][] gives first derivatives only (JAX cannot reverse
    its checkpointed loop twice).

    **Arguments:**

    - `model`: a [`hopjax.HAM`][] or [`hopjax.CHN`][].
    - `x`: one input `(d0,)` or a batch `(batch, d0)`, floating point.
    - `update`: `"even_odd"` (default) or `"synchronous"`.
    - `solver`: [`hopjax.Anderson`][]`()` (default) or [`hopjax.Picard`][]`()`: the
        Optimistix fixed-point solvers that keep the papers' per-sample convergence
        record (other Optimistix solvers do not, and are refused). Their own `damping`
        must be 0 here: damp the map with `damping` instead.
    - `rtol`: tolerance of the papers' test $\lVert F_n - F_{n-1}\rVert_2 <
        \text{rtol}\,\lVert F_n\rVert_2$, in $[0, 1)$; given, it replaces the solver's
        own `rtol`; `None` (default) keeps the solver's (1e-4 unless set, the papers' value).
    - `max_steps`: the most map evaluations per sample.
    - `damping`: map-level damping $\beta$, iterating
        $s \leftarrow \beta s + (1 - \beta) f(s)$ (forward Euler with step
        $1 - \beta$) with every solver and in the backward pass. `None` means the
        papers' choice: 0.5 for a synchronous CHN, 0 otherwise.
    - `init`: where the iteration starts: `None` (default) for zero states, as the
        papers; or one state per state layer, `(s_1, ..., s_L)` batched like `x`
        (e.g. an earlier `Equilibrium.states`, to warm-start, or a pattern to
        retrieve from). Where the equilibrium is unique only the number of steps
        changes. Where a network has several, [`hopjax.Picard`][] follows the
        dynamics, so the start's basin of attraction decides which one is reached;
        Anderson's extrapolation can cross basin boundaries (and, with
        `safeguard=False`, converge to an unstable equilibrium), so retrieve with
        Picard. Layers outside the fixed-point state (the auxiliary parity of an
        even-odd HAM) are recomputed from the others at the first step, so their
        values are not used (but checked).
        No gradient flows to `init` (the equilibrium is treated as independent of
        it, in every backward mode). `paper_iterations` keeps the papers' convention,
        made for zero starts: a sample that passes the test within its first two
        steps counts as not converged there; `num_steps` and `converged` are exact.
    - `backward`: [`hopjax.FixedPointAdjoint`][] (default, exact implicit gradient),
        [`hopjax.RecurrentBackprop`][] (the papers' $K$ Picard steps),
        [`hopjax.UnrolledRecurrentBackprop`][] (the same, computed as the papers' code),
        [`hopjax.GMRESAdjoint`][], or [`hopjax.UnrolledBackprop`][] (baseline).
    - `throw`: if True, raise [`hopjax.NonConvergenceError`][] naming the number of
        samples that did not converge, in the forward solve or (when differentiated)
        in the adjoint solve of the backward pass; if False, the forward solve's
        record is `Equilibrium.converged` and an adjoint that did not converge is
        warned about ([`hopjax.AdjointNonConvergenceWarning`][]). Under `jax.jit` the
        check runs on the host through `jax.debug.callback`, and the error reaches the
        caller wrapped in a `jax.errors.JaxRuntimeError` carrying the same message.
    - `trace`: if True, record every step's relative change in `Equilibrium.trace`
        (NaN after a sample stopped, so with `jax_debug_nans` on a traced solve
        raises `FloatingPointError`; every other solve and gradient runs under it).
    - `early_stop`: if False, every sample runs exactly `max_steps` steps (the papers'
        fixed iteration counts); `num_steps` still reports the first convergence.

    **Returns:** an [`hopjax.Equilibrium`][].

    **Raises:** `TypeError` / `ValueError` for a bad argument (a message that names it);
    `ValueError` for a non-finite input or parameter (at run time under `jax.jit`);
    [`hopjax.NonConvergenceError`][] with `throw=True`.
    """
    check_model("solve", model)
    fixed_point_map = iterated_map("solve", model, update, damping)
    solver = Anderson() if solver is None else solver
    check_solver_and_backward(solver, backward)
    if solver.damping != 0:
        raise ValueError(
            f"solve damps the map (solve(..., damping={solver.damping})), which the "
            "forward solve and every backward mode iterate; the solver's own damping "
            f"({type(solver).__name__}(damping={solver.damping})) would stack on the "
            "map's and the recurrent-backprop modes would not see it. Pass it to solve "
            "instead."
        )
    if rtol is not None:
        check_tolerances("solve", rtol, solver.atol)
        solver = eqx.tree_at(lambda s: s.rtol, solver, float(rtol))
    max_steps = check_positive_int("solve: max_steps", max_steps)
    for name, flag in (("throw", throw), ("trace", trace), ("early_stop", early_stop)):
        check_flag(f"solve: {name}", flag)
    x = check_input("solve", model, x)
    # The arrays, not their dtypes: a Python float in the model (the activation's gain)
    # is a weakly typed float64 tracer under jax.jit with x64, which must not promote.
    dtype = jnp.result_type(x, *jax.tree.leaves(eqx.filter(model, eqx.is_inexact_array)))
    x = check_finite(x.astype(dtype), "The input x")
    model = check_finite(model, "The model")
    y0 = _initial_guess(model, x, update, init)

    equilibrium = _equilibrium(
        model, x, y0, fixed_point_map, update, solver, backward, max_steps, trace,
        early_stop, throw,
    )
    if throw:
        failed = jnp.sum(~equilibrium.converged)
        total = equilibrium.converged.size
        if isinstance(failed, jax.core.Tracer):
            jax.debug.callback(raise_if_failed, failed, total)
        else:
            raise_if_failed(failed, total)
    return equilibrium


def _initial_guess(model, x, update, init):
    """`init` restricted to the fixed-point state, checked, cast to the solve's dtype
    and cut off from the gradient (one per sample); `None` for no `init`, whose zeros
    `_equilibrium` builds inside the compiled program."""
    if init is None:
        return None
    zeros = initial_states(model, update, x.dtype)
    init = check_states("solve: init", model, x, init)
    for layer, state in enumerate(init, start=1):
        if not jnp.issubdtype(jnp.result_type(state), jnp.floating):
            raise TypeError(
                f"solve: init's state {layer} must be floating point, got dtype "
                f"{jnp.result_type(state)}."
            )
    # Every layer is checked, also those the scheme recomputes: a NaN there is a bug.
    init = check_finite(tuple(jnp.asarray(s, x.dtype) for s in init), "The initial states init")
    y0 = tuple(None if zero is None else state for zero, state in zip(zeros, init))
    return jax.lax.stop_gradient(y0)


@eqx.filter_jit
def _equilibrium(
    model, x, y0, fixed_point_map, update, solver, backward, max_steps, trace,
    early_stop, throw,
) -> Equilibrium:
    """`solve` after its checks, compiled as one program (also when `solve` is called
    eagerly: a new shape then compiles once, not op by op). `y0` is `None` for zero
    states, shared by every sample, or the starting point of each sample."""
    fn = _SolverFn(fixed_point_map)
    options = {"trace_length": max_steps if trace else 0, "early_stop": early_stop}
    batched = x.ndim == 2
    y0_axis = None if y0 is None else 0
    if y0 is None:
        y0 = initial_states(model, update, x.dtype)

    def per_sample(fn, in_axes):
        return eqx.filter_vmap(fn, in_axes=in_axes) if batched else fn

    drive = per_sample(input_drive, (None, 0))(model, x)
    value, monitor = implicit_fixed_point(
        fn,
        solver,
        y0,
        (model, drive),
        max_steps=max_steps,
        backward=backward,
        options=options,
        batch_axes=(y0_axis, (None, 0)) if batched else None,
        throw=throw,
    )
    states = per_sample(reconstruct_states, (None, 0, 0))(model, drive, value)
    finite = jnp.all(
        jnp.stack([jnp.all(jnp.isfinite(s), axis=-1) for s in states]), axis=0
    )
    first_passed = monitor.converged & finite
    converged = first_passed & monitor.passes_now  # the returned states pass too
    num_steps = jnp.where(monitor.converged, monitor.first_converged, monitor.steps)
    paper = jnp.where(
        first_passed & (monitor.first_converged >= 3),
        monitor.first_converged - 2,
        max_steps - 1,
    )
    return Equilibrium(
        states=states,
        num_steps=num_steps,
        residual=monitor.relative_change,
        converged=converged,
        paper_iterations=paper,
        trace=monitor.trace if trace else None,
    )


class _SolverFn(eqx.Module):
    """Adapts a map `(model, drive, states) -> states` to Optimistix's `fn(y, args)`."""

    fixed_point_map: object

    def __call__(self, states, params):
        model, drive = params
        return self.fixed_point_map(model, drive, states)


