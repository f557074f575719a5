"""How a solve that did not converge says so: an error with `throw=True`, and for the
adjoint of the backward pass (whose only output is a gradient, with no room for a
per-sample flag) a warning otherwise. Both run on the host, through
`jax.debug.callback` when traced."""

import contextlib
import functools
import threading
import warnings
from collections.abc import Iterator

import jax
import jax.numpy as jnp
from jaxtyping import Array, Bool


class _SampleCounts:
    """The numbers behind a non-convergence message, for code that catches it:
    `failed` samples of `samples` (None where the message was made by hand)."""

    def __init__(self, message: str, failed: int | None = None, samples: int | None = None):
        super().__init__(message)
        self.failed = failed
        self.samples = samples


class NonConvergenceError(_SampleCounts, RuntimeError):
    """Raised by `solve(..., throw=True)` when some samples did not converge, in the
    forward solve or in the adjoint solve of its backward pass. Its `failed` and
    `samples` attributes hold the counts the message names (under `jax.jit` the error
    reaches the caller wrapped in a `jax.errors.JaxRuntimeError`, as text only)."""


class AdjointNonConvergenceWarning(_SampleCounts, RuntimeWarning):
    """Warned when the adjoint fixed point $w = J^T w + g$ of a backward pass
    ([`hopjax.FixedPointAdjoint`][], [`hopjax.GMRESAdjoint`][]) did not reach its
    tolerance for some samples, or is not finite: the gradient is then not the implicit
    gradient and may be far from it. `solve(..., throw=True)` raises
    [`hopjax.NonConvergenceError`][] instead; `warnings.simplefilter("error",
    hopjax.AdjointNonConvergenceWarning)` does too. Its `failed` and `samples`
    attributes hold the counts the message names, e.g. for a caught warning `w`,
    `w.message.failed`."""


class AdjointFailureCount:
    """What [`hopjax.count_adjoint_failures`][] counted: `failed`, the samples whose
    adjoint was reported unsolved, summed over every backward pass that reported one,
    and `reports`, how many backward passes did."""

    def __init__(self):
        self.failed = 0
        self.reports = 0

    def __repr__(self) -> str:
        return f"AdjointFailureCount(failed={self.failed}, reports={self.reports})"


_counts: list[AdjointFailureCount] = []
_counts_lock = threading.Lock()


@contextlib.contextmanager
def count_adjoint_failures() -> Iterator[AdjointFailureCount]:
    """Count the samples whose adjoint did not converge in the backward passes run
    inside the `with` block, whatever the warning filters do with their
    [`hopjax.AdjointNonConvergenceWarning`][] (and with `throw=True` too):

    ```python
    with hj.count_adjoint_failures() as count:
        for x in batches:
            grads = jax.grad(loss)(model, x)
    print(count.failed, "samples' gradients were not the implicit gradient")
    ```

    The count is final when the block ends (it waits for the computations dispatched
    inside it, `jax.effects_barrier`). It counts what the modes that solve an adjoint
    report ([`hopjax.FixedPointAdjoint`][], [`hopjax.GMRESAdjoint`][],
    [`hopjax.RecurrentBackprop`][]); the unrolled modes report nothing. Reports come
    from JAX's callbacks, in this process, so a block also counts those of other
    threads running at the same time; blocks may be nested.

    **Yields:** an `AdjointFailureCount` with `failed` (samples) and `reports`
    (backward passes that reported at least one).
    """
    count = AdjointFailureCount()
    with _counts_lock:
        _counts.append(count)
    try:
        yield count
    finally:
        jax.effects_barrier()
        with _counts_lock:
            _counts.remove(count)


def raise_if_failed(failed, total) -> None:
    """The forward solve's `throw=True` check, on concrete numbers."""
    failed, total = int(failed), int(total)
    if failed > 0:
        raise NonConvergenceError(
            f"{failed} of {total} samples did not converge (non-finite states "
            "or the convergence test never passed within max_steps); raise max_steps, "
            "use another solver or damping, or pass throw=False and inspect "
            "Equilibrium.converged.",
            failed,
            total,
        )


def _report_adjoint(mode: str, throw: bool, failed, total) -> None:
    # Not only reached when one failed: under `jax.vmap` (per-example gradients) the
    # `lax.cond` below becomes a select and calls this for every element.
    failed, total = int(failed), int(total)
    if failed == 0:
        return
    with _counts_lock:
        for count in _counts:
            count.failed += failed
            count.reports += 1
    if mode == "RecurrentBackprop":  # a fixed number of terms: only overflow to report
        what = "its K-term series J^T ... J^T g overflowed (w not finite)"
        remedy = "use hopjax.GMRESAdjoint() or hopjax.FixedPointAdjoint()."
    else:
        what = (
            "its residual J^T w + g - w not within tolerance after its max_steps, or w "
            "not finite"
        )
        remedy = f"raise the forward max_steps, raise {mode}'s max_steps" + (
            " or restart." if mode == "GMRESAdjoint" else ", or use hopjax.GMRESAdjoint()."
        )
    message = (
        f"{mode}: the adjoint fixed point w = J^T w + g of the backward pass did not "
        f"converge for {failed} of {total} samples ({what}), so the gradient is not the "
        "implicit gradient. This happens where the forward solve did not converge (see "
        "Equilibrium.converged) or where the map's Jacobian is not a contraction "
        f"(hopjax.spectral_radius near or above 1): {remedy}"
    )
    if throw:
        raise NonConvergenceError(message, failed, total)
    # Attributed to this line (stacklevel 1): the caller is JAX's callback machinery, often
    # on another thread, never the user's code; this way the warning names hopjax, and
    # `warnings.filterwarnings(..., module="hopjax")` reaches it.
    warnings.warn(AdjointNonConvergenceWarning(message, failed, total), stacklevel=1)


def report_adjoint(mode: str, throw: bool, solved: Bool[Array, "*batch"]) -> None:
    """Warn (or with `throw`, raise) when some samples' adjoint was not solved; for use
    under `jax.jit`, where the host is called only when one failed (a `jax.lax.cond`
    around the callback; under `jax.vmap`, for every element)."""
    failed = jnp.sum(~solved)
    report = functools.partial(_report_adjoint, mode, throw)
    jax.lax.cond(
        failed > 0,
        lambda failed: jax.debug.callback(report, failed, solved.size),
        lambda failed: None,
        failed,
    )
