import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
import optimistix as optx
import pytest

import hopjax as hj
from hopjax._dtypes import at_least_float32

from .helpers import as_numpy, DEPTHS, make_model, random_input, scale_weights
from .reference import DenseReference


SOLVERS = {
    "picard": lambda: hj.Picard(),
    "anderson": lambda: hj.Anderson(),
}


def _cases():
    for depth in sorted(DEPTHS):
        yield "ham", depth
    yield "chn", 3


@pytest.mark.parametrize("kind,depth", list(_cases()))
def test_every_scheme_and_solver_reaches_the_reference_equilibrium(kind, depth, getkey):
    """Contractive networks have one equilibrium: every update scheme and solver must
    return a true fixed point of the reference map, and the same one."""
    sizes = DEPTHS[depth]
    model = make_model(kind, sizes, getkey(), weight_scale=0.3)
    x = random_input(getkey(), sizes[0])
    ref = DenseReference(model)
    want = ref.solve(np.asarray(x))
    assert ref.residual(np.asarray(x), want) < 1e-12
    for update in ("synchronous", "even_odd"):
        for name, make_solver in SOLVERS.items():
            eq = hj.solve(
                model, x, update=update, solver=make_solver(), rtol=1e-13, max_steps=2000
            )
            assert bool(eq.converged), (update, name)
            got = as_numpy(eq.states)
            assert ref.residual(np.asarray(x), got) < 1e-10, (update, name)
            for g, w in zip(got, want):
                np.testing.assert_allclose(g, w, rtol=1e-9, atol=1e-11)


@pytest.mark.parametrize("depth", [3, 4, 5, 7])
def test_even_odd_equilibrium_is_a_synchronous_fixed_point_at_paper_init(depth, getkey):
    """At the papers' initialisation (not scaled), even-odd finds a true equilibrium of
    the synchronous map: the reconstruction of the auxiliary parity is exact."""
    sizes = DEPTHS[depth]
    model = hj.HAM(sizes, key=getkey(), dtype=jnp.float64)
    x = random_input(getkey(), sizes[0])
    eq = hj.solve(model, x, update="even_odd", solver=hj.Anderson(), rtol=1e-13, max_steps=2000)
    assert bool(eq.converged)
    assert DenseReference(model).residual(np.asarray(x), as_numpy(eq.states)) < 1e-10


def test_float32_in_float32_out_and_jit(getkey):
    model = hj.HAM((20, 15, 5), key=getkey(), dtype=jnp.float32)
    x = random_input(getkey(), 20, batch=8, dtype=jnp.float32)
    solve = eqx.filter_jit(lambda m, x: hj.solve(m, x, solver=hj.Anderson()))
    eq = solve(model, x)
    assert all(s.dtype == jnp.float32 for s in eq.states)
    assert eq.states[0].shape == (8, 15) and eq.output.shape == (8, 5)
    assert eq.num_steps.shape == eq.converged.shape == eq.residual.shape == (8,)
    assert bool(jnp.all(eq.converged))
    # Every array in the Equilibrium has a definite dtype (none weakly typed, which
    # would print as weak_i32 and take the dtype of whatever it is combined with).
    for picard_or_anderson in (hj.Picard(), hj.Anderson()):
        for one in (eq, hj.solve(model, x[0], solver=picard_or_anderson, trace=True)):
            for leaf in jax.tree.leaves(one):
                assert not leaf.weak_type, one
    default_int = jnp.array(0, int).dtype  # int64 here: the suite enables x64
    assert eq.num_steps.dtype == eq.paper_iterations.dtype == default_int
    assert eq.residual.dtype == jnp.float32 and eq.converged.dtype == jnp.bool_
    eager = hj.solve(model, x, solver=hj.Anderson())
    np.testing.assert_allclose(eq.output, eager.output, rtol=1e-5, atol=1e-6)
    # Under plain jax.jit (and jax.grad of the model) the activation's Python floats are
    # weakly typed float64 tracers here (x64): until 2026-12-07 they made solve promote
    # a float32 model to float64 there, unlike eagerly or under equinox.filter_jit.
    for other in (model, hj.CHN((20, 15, 5), key=getkey(), dtype=jnp.float32)):
        traced = jax.jit(lambda m, x: hj.solve(m, x, solver=hj.Anderson()))(other, x)
        assert all(s.dtype == jnp.float32 for s in traced.states)
        np.testing.assert_allclose(traced.output, hj.solve(other, x, solver=hj.Anderson()).output,
                                   rtol=1e-5, atol=1e-6)
    x64 = x.astype(jnp.float64)
    assert hj.solve(model, x64).output.dtype == jnp.float64


def test_solve_of_a_closed_over_model_or_input_traces(getkey):
    # A model or input captured by a jitted or scanned function is concrete while the
    # function is traced: the eager checks must not stage it (TracerBoolConversionError).
    model = hj.CHN((10, 7, 4), key=getkey())
    x = random_input(getkey(), 10, batch=3)
    eager = hj.solve(model, x).output
    np.testing.assert_allclose(jax.jit(lambda x: hj.solve(model, x).output)(x), eager, rtol=1e-12)
    np.testing.assert_allclose(jax.jit(lambda m: hj.solve(m, x).output)(model), eager, rtol=1e-12)
    np.testing.assert_allclose(jax.jit(lambda: hj.solve(model, x).output)(), eager, rtol=1e-12)

    def one_sample(total, xi):
        return total + hj.solve(model, xi).output, None

    total, _ = jax.lax.scan(one_sample, jnp.zeros(4), x)
    np.testing.assert_allclose(total, eager.sum(axis=0), rtol=1e-12)


@pytest.mark.parametrize(
    "kind,dtype,rtol,gradient_tolerance",
    [
        ("ham", jnp.float16, 1e-3, 10),
        ("chn", jnp.float16, 1e-3, 50),
        ("ham", jnp.bfloat16, 1e-2, 10),
        ("chn", jnp.bfloat16, 1e-2, 50),
    ],
)
def test_half_precision_models_solve_and_differentiate_in_their_dtype(
    kind, dtype, rtol, gradient_tolerance, getkey
):
    """A half-precision model solves and differentiates in its dtype, to about its
    rounding (`eps`) from the float32 solve of the same (widened) network.

    Anderson's weights and GMRES need LAPACK, which has no half precision: they run in
    float32 and hand back the model's dtype. The network is contractive (couplings
    halved), where rounding is not amplified: over 100 such networks of 4 samples per
    case, the output was at most 2.6 `eps` from float32's, and each sample's input
    gradient at most 3.8 `eps` (HAM) and 24 `eps` (CHN, whose inner iterations round
    too) relative to its largest entry. At the papers' initial scale the same count had
    heavy tails, outputs up to 100 `eps` and gradients up to 7000 `eps` off (4 of the
    800 gradients warned that their adjoint did not converge); the worst samples had
    stopped where the spectral radius is above 1, far from float32's equilibrium. No
    fixed tolerance holds there.
    """
    network = {"ham": hj.HAM, "chn": hj.CHN}[kind]((12, 9, 4), key=getkey(), dtype=dtype)
    model = scale_weights(network, 0.5)
    wide = jax.tree.map(lambda a: a.astype(jnp.float32) if eqx.is_inexact_array(a) else a, model)
    x = jax.random.uniform(getkey(), (4, 12), dtype)
    eps = float(jnp.finfo(dtype).eps)
    eq = hj.solve(model, x, rtol=rtol)  # Anderson
    reference = hj.solve(wide, x.astype(jnp.float32))
    assert all(s.dtype == dtype for s in eq.states) and bool(jnp.all(eq.converged))
    np.testing.assert_allclose(eq.output.astype(jnp.float32), reference.output, atol=5 * eps)
    for backward in (hj.FixedPointAdjoint(), hj.GMRESAdjoint()):  # Anderson's, GMRES's solves
        def input_gradient(model, x, **rtol):
            def loss(x):
                return hj.solve(model, x, backward=backward, **rtol).output.astype(jnp.float32).sum()

            return jax.grad(loss)(x)

        grad = input_gradient(model, x, rtol=rtol)
        reference = input_gradient(wide, x.astype(jnp.float32))  # float32's default rtol
        assert grad.dtype == dtype, type(backward).__name__
        error = jnp.max(jnp.abs(grad.astype(jnp.float32) - reference), axis=-1)
        relative = error / jnp.max(jnp.abs(reference), axis=-1)
        assert bool(jnp.all(relative <= gradient_tolerance * eps)), (type(backward).__name__, relative / eps)


@pytest.mark.parametrize("kind, dtype, update", [
    ("ham", jnp.float16, "even_odd"), ("chn", jnp.bfloat16, "synchronous")
])
def test_half_precision_holds_under_strict_dtype_promotion(kind, dtype, update):
    # Anderson's weights and the adjoints' float32 widening promoted implicitly, which
    # jax.numpy_dtype_promotion("strict") refuses (TypePromotionError) for half precision.
    model = {"ham": hj.HAM, "chn": hj.CHN}[kind]((12, 9, 4), key=jax.random.PRNGKey(2), dtype=dtype)
    x = jax.random.uniform(jax.random.PRNGKey(3), (4, 12), dtype)

    def results(update):
        eq = hj.solve(model, x, update=update, rtol=1e-2)
        grads = [
            jax.grad(lambda x: hj.solve(model, x, update=update, rtol=1e-2, backward=backward)
                     .output.astype(jnp.float32).sum())(x)
            for backward in (hj.FixedPointAdjoint(), hj.GMRESAdjoint())
        ]
        return eq.output, grads, hj.equation_residual(model, x, eq.states)

    standard = results(update)
    with jax.numpy_dtype_promotion("strict"):
        strict = results(update)
    for a, b in zip(jax.tree.leaves(strict), jax.tree.leaves(standard)):
        assert a.dtype == b.dtype
        np.testing.assert_array_equal(np.asarray(a, np.float32), np.asarray(b, np.float32))


def test_at_least_float32_widens_only_half_precision():
    assert [at_least_float32(d) for d in (jnp.float16, jnp.bfloat16, jnp.float32, np.float64)] == [
        jnp.dtype(jnp.float32), jnp.dtype(jnp.float32), jnp.dtype(jnp.float32), jnp.dtype(np.float64)]


def test_numpy_numbers_are_taken_as_python_numbers(getkey):
    # Kept as Python numbers: a NumPy scalar (or 0-d JAX array) in a solver or backward
    # mode would be traced as an array under jax.jit, where these settings must be static.
    model = hj.CHN((10, 7, 4), key=getkey(), inner_steps=np.int64(6))
    x = random_input(getkey(), 10, batch=3)
    solvers = (
        hj.Anderson(history=np.int64(3), rtol=np.float32(1e-4), damping=np.float64(0.0)),
        hj.Picard(rtol=np.float64(1e-4), atol=jnp.float32(0.0), damping=jnp.asarray(0.0)),
    )
    backwards = (
        hj.FixedPointAdjoint(max_steps=np.int64(300), rtol=np.float64(1e-6)),
        hj.RecurrentBackprop(steps=np.int32(8)),
        hj.UnrolledRecurrentBackprop(steps=np.int64(8)),
        hj.GMRESAdjoint(restart=np.int64(10), max_steps=np.int64(50), atol=np.float64(1e-10)),
    )
    counts = [model.inner_steps, solvers[0].history]
    counts += [b.max_steps if hasattr(b, "max_steps") else b.steps for b in backwards]
    assert all(type(c) is int for c in counts)
    numbers = [s.rtol for s in solvers] + [s.damping for s in solvers] + [backwards[0].rtol]
    assert all(type(v) is float for v in numbers)

    @eqx.filter_jit  # the solver and the backward mode are arguments, so not constants
    def loss(x, solver, backward):
        return hj.solve(
            model, x, solver=solver, backward=backward, max_steps=np.int64(50), trace=True
        ).output.sum()

    for solver, backward in zip(solvers * 2, backwards, strict=True):  # each one used
        assert bool(jnp.all(jnp.isfinite(jax.grad(loss)(x, solver, backward))))
    assert hj.solve(model, x, max_steps=np.int64(50), trace=True).trace.shape == (3, 50)
    assert hj.spectral_radius(model, x, hj.solve(model, x).states, iterations=np.int64(20)).shape == (3,)


def test_single_sample_has_no_batch_axis(getkey):
    model = hj.HAM((6, 5, 3), key=getkey())
    eq = hj.solve(model, random_input(getkey(), 6))
    assert eq.output.shape == (3,) and eq.num_steps.shape == ()


def test_trace_early_stop_and_paper_iterations(getkey):
    sizes = DEPTHS[3]
    model = make_model("ham", sizes, getkey(), weight_scale=0.5)
    x = random_input(getkey(), sizes[0], batch=5)
    stopped = hj.solve(model, x, solver=hj.Picard(), update="synchronous", max_steps=40, trace=True)
    full = hj.solve(
        model, x, solver=hj.Picard(), update="synchronous", max_steps=40, trace=True, early_stop=False
    )
    assert stopped.trace.shape == full.trace.shape == (5, 40)
    np.testing.assert_array_equal(stopped.num_steps, full.num_steps)
    for b in range(5):
        n = int(stopped.num_steps[b])
        # the trace holds the papers' relative residual up to the stop, NaN after it
        assert np.all(np.isfinite(stopped.trace[b, :n])) and np.all(np.isnan(stopped.trace[b, n:]))
        np.testing.assert_allclose(stopped.trace[b, :n], full.trace[b, :n], rtol=1e-12)
        assert full.trace[b, n - 1] < 1e-4 <= full.trace[b, n - 2]
        # the papers' convention: first 0-based index t with rel[t] < tol, where rel[t]
        # compares map outputs t+1 and t (trace[0] compares output 0 with the zero init)
        rel = full.trace[b, 1:]
        t = int(np.argmax(rel < 1e-4))
        assert int(stopped.paper_iterations[b]) == (t if t > 0 else 39)
    assert np.all(np.isfinite(full.trace))


def test_converged_describes_the_returned_states_when_the_solve_runs_on():
    """With `early_stop=False`, a sample can pass the test once and drift off again by
    `max_steps`: it counts its first pass (num_steps, paper_iterations) but is not
    converged, since the states returned are the last ones."""
    model = hj.HAM((100, 80, 60, 40, 10), key=jax.random.PRNGKey(0), dtype=jnp.float32)
    x = jax.random.uniform(jax.random.PRNGKey(100), (64, 100), jnp.float32)
    full = hj.solve(model, x, update="synchronous", max_steps=120, early_stop=False)
    drifted = np.asarray((full.num_steps < 120) & ~full.converged)
    assert drifted.sum() >= 1  # this network has one such sample
    assert np.all(np.asarray(full.residual)[drifted] >= 1e-4)
    assert np.all(np.asarray(full.residual)[np.asarray(full.converged)] < 1e-4)
    stopped = hj.solve(model, x, update="synchronous", max_steps=120)
    np.testing.assert_array_equal(stopped.num_steps, full.num_steps)
    np.testing.assert_array_equal(stopped.paper_iterations, full.paper_iterations)
    np.testing.assert_array_equal(stopped.converged, np.asarray(full.converged) | drifted)


def test_paper_iterations_cap_when_not_converged(getkey):
    model = make_model("ham", DEPTHS[3], getkey())
    x = random_input(getkey(), DEPTHS[3][0], batch=3)
    eq = hj.solve(model, x, solver=hj.Picard(), max_steps=2)
    assert not bool(jnp.any(eq.converged))
    np.testing.assert_array_equal(eq.paper_iterations, 1)
    np.testing.assert_array_equal(eq.num_steps, 2)


def test_solvers_work_through_optimistix_fixed_point():
    """The solvers are plain Optimistix solvers: any pytree, any function."""

    def fn(y, args):
        a, b = y
        return (jnp.cos(b), 0.5 * jnp.sin(a) + args)

    y0 = (jnp.zeros(3), jnp.zeros(3))
    for solver in (hj.Picard(rtol=1e-12), hj.Anderson(rtol=1e-12), hj.Picard(rtol=1e-12, damping=0.3)):
        sol = optx.fixed_point(fn, solver, y0, jnp.arange(3.0), max_steps=500)
        a, b = sol.value
        np.testing.assert_allclose(a, jnp.cos(b), rtol=1e-10)
        np.testing.assert_allclose(b, 0.5 * jnp.sin(a) + jnp.arange(3.0), rtol=1e-10)


def test_anderson_accelerates_a_slow_linear_contraction(getkey):
    """Plain Anderson (no safeguard) is far faster than Picard on a slowly contracting
    linear map; the papers' safeguard, which only accepts proposals closer to the
    newest image, is never slower than Picard and still converges."""
    n = 30
    q, _ = jnp.linalg.qr(jax.random.normal(getkey(), (n, n)))
    a = q @ jnp.diag(jnp.linspace(0.5, 0.98, n)) @ q.T
    c = jax.random.normal(getkey(), (n,))

    def fn(y, args):
        return a @ y + c

    counts = {}
    solvers = {
        "picard": hj.Picard(rtol=1e-12),
        "anderson": hj.Anderson(rtol=1e-12, history=6, safeguard=False),
        "safeguarded": hj.Anderson(rtol=1e-12, history=6),
    }
    for name, solver in solvers.items():
        sol = optx.fixed_point(fn, solver, jnp.zeros(n), max_steps=5000, throw=False)
        np.testing.assert_allclose(sol.value, jnp.linalg.solve(jnp.eye(n) - a, c), rtol=1e-7)
        counts[name] = int(sol.stats["num_steps"])
    assert counts["anderson"] * 4 < counts["picard"], counts
    assert counts["safeguarded"] <= counts["picard"], counts


def test_anderson_weights_are_clean_on_singular_systems():
    valid = jnp.array([True, True, True])
    zero = jnp.zeros((3, 5))
    alpha = hj.anderson_weights(zero, valid, 1e-8)
    np.testing.assert_allclose(alpha, 1 / 3)  # all residuals zero: any affine combination
    collinear = jnp.outer(jnp.array([1.0, 2.0, 3.0]), jnp.ones(5))
    alpha = hj.anderson_weights(collinear, valid, 1e-8)
    assert bool(jnp.all(jnp.isfinite(alpha))) and abs(float(jnp.sum(alpha)) - 1) < 1e-12
    tiny = 1e-150 * collinear  # scale invariance: the ridge is relative
    np.testing.assert_allclose(hj.anderson_weights(tiny, valid, 1e-8), alpha, rtol=1e-10)
    partial = jnp.array([False, True, True])
    alpha = hj.anderson_weights(jax.random.normal(jax.random.PRNGKey(0), (3, 5)), partial, 1e-8)
    assert float(alpha[0]) == 0.0 and abs(float(jnp.sum(alpha)) - 1) < 1e-12


def _numpy_anderson(f, x, steps, history, damping, regularisation, safeguard):
    """Independent float64 reference of hj.Anderson as documented: a shifting history
    of (x_i, g(x_i)), normal equations with a trace-relative ridge, the papers'
    safeguard; returns the newest image and the relative change of every step."""
    xs, gs, changes = [], [], []
    previous = x
    for _ in range(steps):
        g = damping * x + (1 - damping) * f(x)
        changes.append(np.linalg.norm(g - previous) / np.linalg.norm(g))
        previous = g
        xs, gs = (xs + [x])[-history:], (gs + [g])[-history:]
        residuals = np.array(gs) - np.array(xs)
        gram = residuals @ residuals.T
        gram = gram / np.trace(gram)
        alpha = np.linalg.solve(gram + regularisation * np.eye(len(gs)), np.ones(len(gs)))
        proposal = (alpha / alpha.sum()) @ np.array(gs)

        def ratio(point):
            return np.linalg.norm(g - point) / np.linalg.norm(point)

        take = not safeguard or ratio(proposal) < ratio(x)
        x = proposal if take else g
    return previous, np.array(changes)


@pytest.mark.parametrize("safeguard", [True, False])
@pytest.mark.parametrize("damping", [0.0, 0.3])
def test_anderson_iterates_match_a_numpy_reference(safeguard, damping, getkey):
    # 14 steps with history 3: the ring buffer wraps several times.
    n, steps, history = 7, 14, 3
    a = np.asarray(jax.random.normal(getkey(), (n, n))) * 0.6
    c = np.asarray(jax.random.normal(getkey(), (n,)))
    y0 = np.asarray(jax.random.normal(getkey(), (n,)))

    def fn(y, args):
        return jnp.tanh(jnp.asarray(a) @ y + c)

    solver = hj.Anderson(
        rtol=1e-14, history=history, damping=damping, safeguard=safeguard
    )
    sol = optx.fixed_point(
        fn,
        solver,
        jnp.asarray(y0),
        options={"trace_length": steps, "early_stop": False},
        max_steps=steps,
        throw=False,
    )
    want, changes = _numpy_anderson(
        lambda y: np.tanh(a @ y + c), y0, steps, history, damping, 1e-8, safeguard
    )
    np.testing.assert_allclose(sol.value, want, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(sol.state.monitor.trace, changes, rtol=1e-8, atol=1e-13)


def test_equation_residual_is_small_at_every_schemes_equilibrium(getkey):
    for kind in ("ham", "chn"):
        sizes = DEPTHS[5]
        inner = {"inner_damping": 0.8} if kind == "chn" else {}
        model = make_model(kind, sizes, getkey(), weight_scale=0.5, **inner)
        x = random_input(getkey(), sizes[0], batch=3)
        for update in ("synchronous", "even_odd"):
            eq = hj.solve(model, x, update=update, rtol=1e-12, max_steps=3000)
            assert bool(jnp.all(eq.converged))
            residual = hj.equation_residual(model, x, eq.states)
            assert residual.shape == (3,) and float(jnp.max(residual)) < 1e-9, residual
            single = hj.equation_residual(model, x[0], tuple(s[0] for s in eq.states))
            np.testing.assert_allclose(single, residual[0], rtol=1e-9, atol=1e-15)


def test_equation_residual_flags_a_chn_inner_two_cycle():
    # Hidden fields of about 3 put the papers' inner iteration (damping 0.5) into a
    # 2-cycle; with 10 (even) inner steps the even-odd map repeats itself and the solve
    # reports convergence at a state that is no equilibrium of Eq. (5).
    def chn(**inner):
        model = hj.CHN((4, 3, 2), key=jax.random.PRNGKey(0), dtype=jnp.float64, **inner)
        return eqx.tree_at(lambda m: m.biases, model, (jnp.full(3, 3.0), jnp.zeros(2)))

    x = jnp.full((4,), 0.5)
    papers = chn()
    eq = hj.solve(papers, x, solver=hj.Picard(), max_steps=40)
    assert bool(eq.converged)
    assert float(hj.equation_residual(papers, x, eq.states)) > 0.1
    odd = chn(inner_steps=9)
    assert not bool(hj.solve(odd, x, solver=hj.Picard(), max_steps=40).converged)
    damped = chn(inner_damping=0.8, inner_steps=60)
    eq = hj.solve(damped, x, solver=hj.Picard(), rtol=1e-10, max_steps=400)
    assert bool(eq.converged)
    assert float(hj.equation_residual(damped, x, eq.states)) < 1e-6


def test_solve_keeps_the_solvers_rtol_unless_given_one(getkey):
    model = make_model("ham", DEPTHS[3], getkey(), weight_scale=0.5)
    x = random_input(getkey(), DEPTHS[3][0], batch=4)
    tight = hj.solve(model, x, solver=hj.Anderson(rtol=1e-9), max_steps=500)
    assert bool(jnp.all(tight.converged)) and float(tight.residual.max()) < 1e-9
    loose = hj.solve(model, x, solver=hj.Anderson(rtol=1e-9), rtol=1e-3, max_steps=500)
    assert float(loose.residual.max()) < 1e-3 and bool(jnp.all(loose.num_steps < tight.num_steps))


@pytest.mark.parametrize("solver", [hj.Picard(), hj.Anderson()])
def test_nan_never_passes_the_convergence_test(solver):
    # The 2-norm of a vector holding NaN was 0, so consecutive NaN map outputs "moved
    # by 0" and were declared converged (hopjax.solve caught it by checking its states,
    # but the adjoint solves and equation_residual did not).
    def blows_up(y, _):
        return jnp.where(y > 4, jnp.nan, 2 * y + 1)

    solution = optx.fixed_point(blows_up, solver, jnp.ones(3), max_steps=20, throw=False)
    assert not bool(solution.state.monitor.converged)
    assert solution.result != optx.RESULTS.successful  # optimistix: "Nonfinite values"



@pytest.mark.filterwarnings("ignore:Complex support in Optimistix")
@pytest.mark.parametrize("solver", [hj.Picard(), hj.Anderson()])
def test_a_complex_fixed_point_is_refused_not_passed_at_the_first_step(solver):
    # sum(y * y) of an imaginary step is negative: y = 0.5 y + 1j "converged" to 1j
    # (the fixed point is 2j) after one step, reported successful.
    def fn(y, _):
        return 0.5 * y + 1j

    with pytest.raises(TypeError, match="real floating-point vectors; y has dtype complex"):
        optx.fixed_point(fn, solver, jnp.zeros(2, jnp.complex64), max_steps=50)
    real = optx.fixed_point(lambda y, _: 0.5 * y + 1.0, solver, jnp.zeros(2), max_steps=50)
    np.testing.assert_allclose(real.value, 2.0, rtol=1e-3)

def test_equation_residual_of_nan_states_is_nan():
    model = hj.HAM((6, 5, 3), key=jax.random.PRNGKey(0))
    x = jnp.linspace(0, 1, 6)
    residual = hj.equation_residual(model, x, (jnp.full(5, jnp.nan), jnp.ones(3)))
    assert bool(jnp.isnan(residual))  # was 0: "a perfect equilibrium"


@pytest.mark.parametrize("kind", ["ham", "chn"])
def test_solves_and_gradients_run_under_jax_debug_nans(kind, getkey):
    # A user hunting a NaN turns jax_debug_nans on: hopjax itself must make none (only a
    # trace, NaN after each sample stopped, as documented).
    model = make_model(kind, DEPTHS[3], getkey())
    x = random_input(getkey(), DEPTHS[3][0], batch=6)
    with jax.debug_nans(True):
        for update in ("even_odd", "synchronous"):
            for solver in (hj.Anderson(), hj.Picard()):
                eq = hj.solve(model, x, update=update, solver=solver)
                assert bool(jnp.isfinite(eq.output).all())
        for backward in (hj.FixedPointAdjoint(), hj.GMRESAdjoint(), hj.UnrolledRecurrentBackprop()):
            grads = eqx.filter_grad(lambda m: jnp.sum(hj.solve(m, x, backward=backward).output))(model)
            assert all(bool(jnp.isfinite(g).all()) for g in jax.tree.leaves(grads))
        with pytest.raises(FloatingPointError):
            hj.solve(model, x, trace=True, max_steps=60).trace.block_until_ready()
