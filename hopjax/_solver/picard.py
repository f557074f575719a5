from collections.abc import Callable

import equinox as eqx
import optimistix as optx
from jax.flatten_util import ravel_pytree
from jaxtyping import PyTree, Scalar

from .._checks import as_python_number, check_damping, check_tolerances
from ._monitor import (
    ConvergenceMonitor,
    init_monitor,
    record,
    should_stop,
    two_norm,
)


class _PicardState(eqx.Module):
    monitor: ConvergenceMonitor


class Picard(optx.AbstractFixedPointSolver):
    r"""Picard (fixed-point) iteration, optionally damped:
    $y_{n+1} = \beta\,y_n + (1 - \beta)\,f(y_n)$ with $\beta$ = `damping`.

    With damping this is forward Euler with step $h = 1 - \beta$ on
    $\dot y = f(y) - y$. Stops per sample when
    $\lVert y_{n+1} - y_n\rVert_2 < \text{atol} + \text{rtol}\lVert y_{n+1}\rVert_2$
    (the papers' test; the iterates are the outputs of the damped map).

    Works on any pytree through `optimistix.fixed_point`; it knows nothing of
    Hopfield networks. Options: ``trace_length`` (record that many relative changes)
    and ``early_stop`` (default True).
    """

    rtol: float = eqx.field(default=1e-4, converter=as_python_number)
    atol: float = eqx.field(default=0.0, converter=as_python_number)
    damping: float = eqx.field(default=0.0, converter=as_python_number)
    norm: Callable[[PyTree], Scalar] = two_norm

    def __check_init__(self):
        check_tolerances("Picard", self.rtol, self.atol)
        check_damping("Picard", self.damping)

    def init(self, fn, y, args, options, f_struct, aux_struct, tags):
        del fn, args, f_struct, aux_struct, tags
        flat, _ = ravel_pytree(y)
        return _PicardState(init_monitor(flat, options))

    def step(self, fn, y, args, options, state, tags):
        del tags
        f_y, aux = fn(y, args)
        flat_y, unravel = ravel_pytree(y)
        flat_f, _ = ravel_pytree(f_y)
        new = self.damping * flat_y + (1 - self.damping) * flat_f
        monitor = record(state.monitor, new, flat_y, self.rtol, self.atol)
        return unravel(new), _PicardState(monitor), aux

    def terminate(self, fn, y, args, options, state, tags):
        del fn, y, args, tags
        return should_stop(state.monitor, options), optx.RESULTS.successful

    def postprocess(self, fn, y, aux, args, options, state, tags, result):
        del fn, args, options, state, tags, result
        return y, aux, {}


Picard.__init__.__doc__ = """**Arguments:**

- `rtol`: relative tolerance of the convergence test (the papers: `1e-4`).
- `atol`: absolute tolerance of the convergence test (default `0`, as the papers).
- `damping`: $\\beta \\in [0, 1)$; `0` is plain fixed-point iteration.
- `norm`: kept for Optimistix compatibility; the test always uses the 2-norm.
"""
