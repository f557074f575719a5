r"""Backward modes: how the gradient through an equilibrium $s^* = f(s^*, \theta)$ is
found.

By the implicit function theorem the cotangent $g = \partial\ell/\partial s^*$ gives
$\partial\ell/\partial\theta = (\partial f/\partial\theta)^T w$ where $w$ solves the
*adjoint fixed point* $w = J^T w + g$, $J = \partial f/\partial s$ at $s^*$
(Almeida 1987, Pineda 1987: recurrent backpropagation; Bai et al. 2019: DEQs). The
modes below differ only in how they find $w$; none backpropagates through the forward
iterations, except [`hopjax.UnrolledBackprop`][], the baseline.
"""

import abc
import math
from collections.abc import Callable

import equinox as eqx
import jax
import jax.numpy as jnp
import lineax as lx
import optimistix as optx
from jax.flatten_util import ravel_pytree
from jaxtyping import Array, Bool, PyTree

from ._checks import all_finite, as_python_number, check_positive_int, check_tolerances
from ._dtypes import at_least_float32
from ._solver._monitor import two_norm
from ._solver.anderson import Anderson


class AbstractBackward(eqx.Module):
    r"""How the adjoint fixed point $w = J^T w + g$ is solved: the base of hopjax's
    backward modes.

    At an equilibrium $s^* = f(s^*, \theta)$ with cotangent $g = \partial\ell/\partial
    s^*$, the implicit function theorem gives
    $\partial\ell/\partial\theta = (\partial f/\partial\theta)^T w$ with
    $w = (I - J^T)^{-1} g$, i.e. the fixed point of $w \mapsto J^T w + g$,
    $J = \partial f/\partial s$ at $s^*$. A subclass implements `adjoint_vector`; it
    only ever sees vector-Jacobian products $v \mapsto J^T v$, never $J$ itself, and
    says whether it found $w$: where it did not, [`hopjax.solve`][] warns
    ([`hopjax.AdjointNonConvergenceWarning`][]) or, with `throw=True`, raises.
    """

    @abc.abstractmethod
    def adjoint_vector(
        self,
        transpose_jacobian: Callable[[PyTree], PyTree],
        cotangent: PyTree,
        forward_solver: optx.AbstractFixedPointSolver,
    ) -> tuple[PyTree, Bool[Array, ""]]:
        r"""Return $w$ with $w \approx J^T w + g$, and whether the mode found it.

        **Arguments:**

        - `transpose_jacobian`: the function $v \mapsto J^T v$ (a vector-Jacobian
            product of the map at the equilibrium), on pytrees shaped like the state.
        - `cotangent`: $g = \partial\ell/\partial s^*$, shaped like the state.
        - `forward_solver`: the solver of the forward pass (with its `rtol`), which a
            mode may reuse.

        **Returns:** `(w, solved)`: $w$, shaped like the state, and a boolean scalar,
        False where the mode did not find what it promises (a tolerance not reached, a
        non-finite $w$).
        """


def _add(a, b):
    return jax.tree.map(lambda u, v: u + v, a, b)


def adjoint_solved(
    transpose_jacobian: Callable[[PyTree], PyTree],
    w: PyTree,
    cotangent: PyTree,
    *,
    rtol: float,
    atol: float,
    relative_to: PyTree,
) -> Bool[Array, ""]:
    r"""Whether $w$ solves the adjoint equation: $w$ is finite and its true residual
    $\lVert J^T w + g - w\rVert_2 \le \text{atol} + \max(\text{rtol}\,\lVert v\rVert_2,
    \sqrt{\varepsilon}\,\lVert g\rVert_2)$, with $v$ = `relative_to` (the mode's own
    scale: $g$ for GMRES, $w$ for a fixed-point test) and $\varepsilon$ the machine
    epsilon of $g$'s dtype, below whose square root $J^T w$ is not accurate enough to
    judge. Summed in at least float32 (a half-precision model's own products are that
    accurate at best)."""

    def flat(tree):
        vector = ravel_pytree(tree)[0]
        return vector.astype(at_least_float32(vector.dtype))

    residual = flat(transpose_jacobian(w)) + flat(cotangent) - flat(w)
    eps = max(float(jnp.finfo(leaf.dtype).eps) for leaf in jax.tree.leaves(cotangent))
    tolerance = atol + jnp.maximum(
        rtol * two_norm(flat(relative_to)), math.sqrt(eps) * two_norm(flat(cotangent))
    )
    return (two_norm(residual) <= tolerance) & all_finite(w)


class FixedPointAdjoint(AbstractBackward):
    r"""Solve $w = J^T w + g$ to a tolerance with a fixed-point solver (the default of
    [`hopjax.solve`][]).

    This gives the exact implicit gradient (up to `rtol`). With `solver=None` the
    forward solver is reused with `rtol` and `max_steps` set here, `atol = 0`, and,
    for [`hopjax.Anderson`][], without the papers' safeguard:

    - the forward `atol` is sized for the states, the adjoint vectors are on the
        loss's scale (a mean over a batch makes them small), so a shared `atol` could
        stop the adjoint after a step or two;
    - the adjoint equation is linear, where plain Anderson acceleration works as a
        Krylov method, while the safeguard's fallback to plain steps makes it crawl
        when the spectral radius of $J$ is near 1. At the papers' initialisation
        (batch of 64 random inputs, relative error against a tight GMRES solve; float32,
        2-core CPU, 2026-12-05) the safeguarded adjoint left 5- and 7-layer HAMs and
        3- and 5-layer CHNs unconverged after 1000 steps with gradients off by factors
        of 0.6 to 1e10; plain Anderson reached 2e-5 to 3e-3 in 0.3 to 0.9 of the
        time, and equals it where both converge (trained 3-layer HAM: 1e-7).

    Picard iteration converges when the spectral radius of $J$ is below 1; Anderson
    often beyond; otherwise use [`hopjax.GMRESAdjoint`][].

    **Arguments:**

    - `solver`: the fixed-point solver of the adjoint, e.g. [`hopjax.Anderson`][]`()`;
        `None` (default) reuses the forward solver with `rtol` set here.
    - `rtol`: the adjoint's relative tolerance, on the papers' 2-norm test, when
        `solver=None` (default 1e-6); a given `solver` keeps its own.
    - `max_steps`: the most adjoint steps (default 1000). A solve that has not converged
        by then, or whose iterate is not finite, returns its last iterate and says so:
        [`hopjax.solve`][] warns ([`hopjax.AdjointNonConvergenceWarning`][]) or, with
        `throw=True`, raises.

    A solver's test is on its step, which can be small where the residual is not
    (Anderson's mixed iterates stagnating, a damped iteration creeping), so the result is
    checked once more: it counts as solved only if its true residual
    $\lVert J^T w + g - w\rVert_2 \le \text{atol} + \max(2\,\text{rtol}\,
    \lVert w\rVert_2, \sqrt{\varepsilon}\,\lVert g\rVert_2)$: the solver's own
    test on the residual, with a margin of 2, or, where the dtype cannot reach that,
    [`hopjax.GMRESAdjoint`][]'s ($\varepsilon$ the machine epsilon of the cotangent's
    dtype: $\sqrt{\varepsilon}$ = 3.5e-4 in float32). At the papers' initialisation,
    float32, Anderson's test passed on a synchronous 5-layer HAM's 64 Fashion-MNIST
    test images with a gradient 4 % off that of a tight GMRES solve; this check
    reports it (`benchmarks/backward.py`).
    """

    solver: optx.AbstractFixedPointSolver | None = None
    rtol: float = eqx.field(default=1e-6, converter=as_python_number)
    max_steps: int = eqx.field(default=1000, converter=as_python_number)

    def __check_init__(self):
        check_tolerances("FixedPointAdjoint", self.rtol, 0.0)
        check_positive_int("FixedPointAdjoint max_steps", self.max_steps)

    def adjoint_vector(self, transpose_jacobian, cotangent, forward_solver):
        solver = self.solver
        if solver is None:
            solver = eqx.tree_at(lambda s: (s.rtol, s.atol), forward_solver, (self.rtol, 0.0))
            if isinstance(solver, Anderson):
                solver = eqx.tree_at(lambda s: s.safeguard, solver, False)

        def adjoint_map(w, _):
            return _add(transpose_jacobian(w), cotangent)

        solution = optx.fixed_point(
            adjoint_map, solver, cotangent, max_steps=self.max_steps, throw=False
        )
        # Anderson's test is on its step, which can be small where the true residual is
        # not (the mixed iterates stagnating): check the residual, on the solver's own
        # scale with a margin of 2 (Picard's residual is its next step).
        w = solution.value
        solved = adjoint_solved(
            transpose_jacobian, w, cotangent,
            rtol=2 * solver.rtol, atol=solver.atol, relative_to=w,
        )
        return w, (solution.result == optx.RESULTS.successful) & solved


class RecurrentBackprop(AbstractBackward):
    r"""Recurrent backpropagation with a fixed number $K$ of Picard steps (the papers'
    choice: $K$ = 8, 16, 24 for 3, 5, 7 layers).

    Returns the truncated Neumann series $w_K = \sum_{k<K} (J^T)^k g$, found by
    $w \leftarrow J^T w + g$ from $w = 0$. This is the papers' "backprop" method
    (they unroll $K$ steps from $s^*$ with autograd; at an exact equilibrium the two
    agree term by term). Exact only as $K \to \infty$; the error is
    $\sum_{k \ge K} (J^T)^k g$, small when $J$ contracts fast. A non-finite $w$ (the
    series overflowing where $J$ expands) is reported as [`hopjax.FixedPointAdjoint`][]
    reports an adjoint that did not converge.

    **Arguments:**

    - `steps`: $K \ge 1$, the number of terms (default 8; $K = 1$ gives $w = g$).
    """

    steps: int = eqx.field(default=8, converter=as_python_number)

    def __check_init__(self):
        check_positive_int("RecurrentBackprop steps", self.steps)

    def adjoint_vector(self, transpose_jacobian, cotangent, forward_solver):
        del forward_solver

        def body(_, w):
            return _add(transpose_jacobian(w), cotangent)

        w = jax.lax.fori_loop(1, self.steps, body, cotangent)
        return w, all_finite(w)


class UnrolledRecurrentBackprop(AbstractBackward):
    r"""Recurrent backpropagation as the papers' code computes it: backpropagate
    through $K$ further map calls started at the solution.

    With $z_0 = s^*$ held fixed and $z_{k+1} = f(z_k, \theta)$, the parameter gradient
    is that of $z_K$, with the loss's cotangent $g = \partial\ell/\partial s^*$
    injected at $z_K$:
    $\partial\ell/\partial\theta = \sum_{k<K} (\partial f/\partial\theta|_{z_k})^T
    J_{k+1}^T \cdots J_{K-1}^T g$, $J_k = \partial f/\partial s|_{z_k}$.
    At an exact equilibrium every $z_k = s^*$ and this is [`hopjax.RecurrentBackprop`][]
    term by term. Where the solve stopped short of one (a cap reached, a 2-cycle),
    the Jacobians are taken along the $K$-step trajectory instead of at the last
    iterate, which is what the papers' training saw. Memory grows with $K$ (one state
    per step).

    **Arguments:**

    - `steps`: $K \ge 1$ (default 8).
    """

    steps: int = eqx.field(default=8, converter=as_python_number)

    def __check_init__(self):
        check_positive_int("UnrolledRecurrentBackprop steps", self.steps)

    def adjoint_vector(self, transpose_jacobian, cotangent, forward_solver):
        raise NotImplementedError(
            "UnrolledRecurrentBackprop differentiates through map calls; use "
            "parameter_cotangent."
        )

    def parameter_cotangent(
        self,
        fn: Callable[[PyTree, PyTree], PyTree],
        y_star: PyTree,
        params: PyTree,
        cotangent: PyTree,
    ) -> PyTree:
        r"""Return the cotangent of `params`: the VJP of
        $\theta \mapsto f^K(s^*, \theta)$ with `cotangent`."""

        def unrolled(params):
            return jax.lax.fori_loop(0, self.steps, lambda _, y: fn(y, params), y_star)

        _, vjp = eqx.filter_vjp(unrolled, params)
        (grad_params,) = vjp(cotangent)
        return grad_params


class GMRESAdjoint(AbstractBackward):
    r"""Solve the linear system $(I - J^T)\,w = g$ matrix-free with GMRES (lineax).

    Only $v \mapsto J^T v$ products are used; no Jacobian is ever formed. Unlike the
    fixed-point iteration, GMRES does not need $J$ to be a contraction, only $I - J^T$
    to be invertible.

    **Arguments:**

    - `rtol`, `atol`: GMRES's tolerances on the residual of the linear system (defaults
        1e-6, 1e-10). The solve is reported not converged when its true residual
        $\lVert (I - J^T) w - g\rVert_2$ exceeds $\text{atol} + \max(\text{rtol},
        \sqrt{\varepsilon})\,\lVert g\rVert_2$ ($\varepsilon$ the machine epsilon of
        the model's dtype: $\sqrt{\varepsilon}$ = 3.5e-4 in float32).
    - `restart`: the Krylov subspace size before a restart (default 20).
    - `max_steps`: the most GMRES iterations (default 256). A solve that has not
        converged returns its last iterate and says so, as
        [`hopjax.FixedPointAdjoint`][] does.
    """

    rtol: float = eqx.field(default=1e-6, converter=as_python_number)
    atol: float = eqx.field(default=1e-10, converter=as_python_number)
    restart: int = eqx.field(default=20, converter=as_python_number)
    max_steps: int = eqx.field(default=256, converter=as_python_number)

    def __check_init__(self):
        check_tolerances("GMRESAdjoint", self.rtol, self.atol)
        check_positive_int("GMRESAdjoint restart", self.restart)
        check_positive_int("GMRESAdjoint max_steps", self.max_steps)

    def adjoint_vector(self, transpose_jacobian, cotangent, forward_solver):
        del forward_solver
        # GMRES's small least-squares problems go to LAPACK, which has no half
        # precision: iterate in at least float32, return the cotangent's dtypes.
        dtypes = jax.tree.map(lambda c: c.dtype, cotangent)

        def widen(tree):
            return jax.tree.map(
                lambda a: a.astype(at_least_float32(a.dtype)), tree
            )

        def narrow(tree):
            return jax.tree.map(lambda a, dtype: a.astype(dtype), tree, dtypes)

        def system(w):
            return jax.tree.map(lambda a, b: a - b, w, widen(transpose_jacobian(narrow(w))))

        wide_cotangent = widen(cotangent)
        structure = jax.eval_shape(lambda: wide_cotangent)
        operator = lx.FunctionLinearOperator(system, structure)
        solver = lx.GMRES(
            rtol=self.rtol,
            atol=self.atol,
            restart=self.restart,
            max_steps=self.max_steps,
        )
        w = narrow(lx.linear_solve(operator, wide_cotangent, solver, throw=False).value)
        # Lineax's own verdict is elementwise (|r_i| <= atol + rtol |g_i|, out of reach
        # in float32 where g is 0, as on every hidden layer) and calls a solve that
        # stagnated at a residual of 1e-8 a failure. Judge the true residual instead, in
        # 2-norm, to rtol or, where the dtype cannot reach it, sqrt(eps) (the eps of the
        # cotangent's own dtype: a half-precision model's J^T v is only that accurate,
        # however wide GMRES iterates).
        return w, adjoint_solved(
            transpose_jacobian, w, cotangent,
            rtol=self.rtol, atol=self.atol, relative_to=cotangent,
        )


class UnrolledBackprop(AbstractBackward):
    """Backpropagate through every forward iteration (a baseline for comparison).

    Memory grows with the number of iterations and the gradient is that of the
    truncated iteration, not of the equilibrium. Requires a finite `max_steps`. Uses
    `optimistix.RecursiveCheckpointAdjoint` underneath. No arguments.
    """

    def adjoint_vector(self, transpose_jacobian, cotangent, forward_solver):
        raise NotImplementedError(
            "UnrolledBackprop does not solve an adjoint; hopjax.solve differentiates "
            "through the iterations instead."
        )


def solves_adjoint(backward: AbstractBackward) -> bool:
    """Whether `backward` solves the adjoint fixed point, and so reports the samples
    where it did not ([`hopjax.count_adjoint_failures`][] counts them): every mode but
    the unrolled ones, which differentiate through map calls instead."""
    return not isinstance(backward, (UnrolledBackprop, UnrolledRecurrentBackprop))
