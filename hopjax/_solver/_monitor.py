r"""The papers' convergence test, shared by every hopjax fixed-point solver.

Convergence is declared the first time consecutive outputs $F_{n-1}, F_n$ of the map
satisfy $\lVert F_n - F_{n-1}\rVert_2 < \text{atol} + \text{rtol}\,\lVert F_n\rVert_2$,
per sample (main paper, footnote 3, with atol = 0). Optimistix's built-in test is
elementwise and cannot express this, so every hopjax solver keeps one of these monitors
in its state and terminates on it.
"""

from typing import Any

import equinox as eqx
import jax.numpy as jnp
from jaxtyping import Array, Bool, Float

from .._custom_types import BoolScalar, IntScalar, Scalar


def two_norm(x: Float[Array, "..."]) -> Scalar:
    r"""$\lVert x\rVert_2$, with a gradient of zero (not NaN) at $x = 0$; NaN when $x$
    holds a NaN (never 0: a NaN must not pass a convergence test)."""
    squared = jnp.sum(x * x)
    positive = squared > 0
    return jnp.where(positive, jnp.sqrt(jnp.where(positive, squared, 1)), squared)


def relative_change(
    new: Float[Array, " n"], old: Float[Array, " n"]
) -> tuple[Scalar, Scalar, Scalar]:
    r"""$(\lVert \text{new} - \text{old}\rVert_2, \lVert \text{new}\rVert_2,$ their
    ratio$)$; the ratio is $\infty$ when only the denominator vanishes, $0$ when both
    do, and NaN when either vector holds a NaN."""
    delta, size = two_norm(new - old), two_norm(new)
    ratio = jnp.where(size == 0, jnp.inf, delta / jnp.where(size == 0, 1, size))
    return delta, size, jnp.where(delta == 0, 0, ratio)


class ConvergenceMonitor(eqx.Module):
    r"""Per-solve record of the relative change between consecutive map outputs,
    kept in the state of [`hopjax.Picard`][] and [`hopjax.Anderson`][] (one per sample
    under `jax.vmap`). Convergence is declared the first time
    $\lVert F_n - F_{n-1}\rVert_2 < \text{atol} + \text{rtol}\,\lVert F_n\rVert_2$
    (or $F_n = F_{n-1}$ exactly).

    - `relative_change`: $\lVert F_n - F_{n-1}\rVert_2 / \lVert F_n\rVert_2$ at the
        last step ($\infty$ before the first).
    - `steps`: the number of steps (map evaluations) taken so far.
    - `first_converged`: the step at which the test first passed, 0 if it has not.
    - `passes_now`: whether the test passed at the last step (it can fail again after
        a first pass when the solve runs on, `early_stop=False`).
    - `trace`: the relative change at every step, NaN where not (yet) taken; length
        `trace_length` (solver option, default 0).
    """

    relative_change: Scalar
    steps: IntScalar
    first_converged: IntScalar
    passes_now: BoolScalar
    trace: Float[Array, " trace_length"]

    @property
    def converged(self) -> Bool[Array, "*batch"]:
        """Whether the test has passed at some step (``first_converged > 0``); one per
        sample, batch-leading, on the record of a batch of solves."""
        return self.first_converged > 0


def init_monitor(y: Float[Array, " n"], options: dict[str, Any]) -> ConvergenceMonitor:
    """A fresh monitor; ``options["trace_length"]`` (default 0) steps are recorded.

    Raises `TypeError` for a `y` that is not real floating point: the 2-norm test
    (and Anderson's least squares) are written for real vectors, and a complex one
    would pass the test at the first step, wherever it stood."""
    if not jnp.issubdtype(y.dtype, jnp.floating):
        raise TypeError(
            "hopjax's fixed-point solvers (Picard, Anderson) iterate real floating-point "
            f"vectors; y has dtype {y.dtype}. Solve a complex fixed point as its real and "
            "imaginary parts, or with optimistix.FixedPointIteration."
        )
    length = int(options.get("trace_length", 0))
    return ConvergenceMonitor(
        relative_change=jnp.array(jnp.inf, y.dtype),
        steps=jnp.array(0, int),  # JAX's default int, not weakly typed (see the
        first_converged=jnp.array(0, int),  # Equilibrium's counts, which come from these)
        passes_now=jnp.array(False),
        trace=jnp.full((length,), jnp.nan, y.dtype),
    )


def record(
    monitor: ConvergenceMonitor,
    new_f: Float[Array, " n"],
    old_f: Float[Array, " n"],
    rtol: float,
    atol: float,
) -> ConvergenceMonitor:
    """Record one step whose map output moved from ``old_f`` to ``new_f``."""
    delta, size, ratio = relative_change(new_f, old_f)
    steps = monitor.steps + 1
    passed = (delta < atol + rtol * size) | (delta == 0)
    first = jnp.where(monitor.converged | ~passed, monitor.first_converged, steps)
    trace = monitor.trace
    if trace.shape[0] > 0:
        trace = trace.at[monitor.steps].set(ratio.astype(trace.dtype), mode="drop")
    return ConvergenceMonitor(
        ratio.astype(monitor.relative_change.dtype), steps, first, passed, trace
    )


def should_stop(monitor: ConvergenceMonitor, options: dict[str, Any]) -> BoolScalar:
    """Stop once converged, unless ``options["early_stop"]`` is False (then the solve
    runs to ``max_steps``, as the papers' fixed iteration counts do)."""
    if options.get("early_stop", True):
        return monitor.converged
    return jnp.array(False)
