import pathlib
import warnings

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
import pytest

import hopjax as hj

from .helpers import compile_log, DEPTHS, make_model, random_input


EXACT_MODES = {
    "fixed_point_picard": hj.FixedPointAdjoint(rtol=1e-13, max_steps=3000),
    "fixed_point_anderson": hj.FixedPointAdjoint(solver=hj.Anderson(rtol=1e-13), max_steps=3000),
    "gmres": hj.GMRESAdjoint(rtol=1e-12, atol=1e-14),
    "recurrent_backprop_long": hj.RecurrentBackprop(steps=600),
    "recurrent_backprop_unrolled_long": hj.UnrolledRecurrentBackprop(steps=600),
    "unrolled": hj.UnrolledBackprop(),
}


def _loss_fn(update, backward, solver):
    def loss(params):
        model, x = params
        eq = hj.solve(
            model, x, update=update, solver=solver, rtol=1e-14, max_steps=3000, backward=backward
        )
        target = jnp.linspace(-1.0, 1.0, eq.output.shape[-1])
        return jnp.sum((eq.output - target) ** 2) + 0.3 * jnp.sum(jnp.sin(eq.states[0]))

    return loss


def _random_direction(key, tree):
    leaves, treedef = jax.tree.flatten(eqx.filter(tree, eqx.is_inexact_array))
    keys = jax.random.split(key, len(leaves))
    return jax.tree.unflatten(
        treedef, [jax.random.normal(k, leaf.shape, leaf.dtype) for k, leaf in zip(keys, leaves)]
    )


def _directional_fd(loss, params, direction, eps=1e-6):
    def shifted(sign):
        return eqx.apply_updates(params, jax.tree.map(lambda d: sign * eps * d, direction))

    return (loss(shifted(1.0)) - loss(shifted(-1.0))) / (2 * eps)


def _dot(grads, direction):
    grads = eqx.filter(grads, eqx.is_inexact_array)
    return sum(jnp.vdot(g, d) for g, d in zip(jax.tree.leaves(grads), jax.tree.leaves(direction)))


@pytest.mark.parametrize("kind", ["ham", "chn"])
@pytest.mark.parametrize("update", ["synchronous", "even_odd"])
def test_gradients_match_finite_differences(kind, update, getkey):
    sizes = DEPTHS[5] if kind == "ham" else DEPTHS[3]
    model = make_model(kind, sizes, getkey(), weight_scale=0.7)
    x = random_input(getkey(), sizes[0])
    params = (model, x)
    direction = _random_direction(getkey(), params)
    solver = hj.Picard()  # solve damps the synchronous CHN's map by 0.5 (the papers')
    loss = _loss_fn(update, EXACT_MODES["gmres"], solver)
    fd = _directional_fd(loss, params, direction)
    grads = {}
    for name, backward in EXACT_MODES.items():
        grads[name] = eqx.filter_grad(_loss_fn(update, backward, solver))(params)
        np.testing.assert_allclose(_dot(grads[name], direction), fd, rtol=2e-6, err_msg=name)
    x_only = (jax.tree.map(jnp.zeros_like, direction[0]), direction[1])
    fd_x = _directional_fd(loss, params, x_only)
    grad_x = grads["fixed_point_picard"][1]
    np.testing.assert_allclose(jnp.vdot(grad_x, direction[1]), fd_x, rtol=2e-6)


@pytest.mark.parametrize("backward", ["fixed_point_anderson", "gmres", "unrolled"])
def test_jacobian_of_the_output_by_reverse_mode_matches_finite_differences(backward, getkey):
    model = make_model("ham", DEPTHS[5], getkey(), weight_scale=0.7)
    x = random_input(getkey(), DEPTHS[5][0])

    def output(x):
        eq = hj.solve(model, x, rtol=1e-14, max_steps=3000, backward=EXACT_MODES[backward])
        return eq.output

    jacobian = jax.jacrev(output)(x)
    eps = 1e-6
    columns = [(output(x + eps * e) - output(x - eps * e)) / (2 * eps) for e in jnp.eye(x.size)]
    np.testing.assert_allclose(jacobian, jnp.stack(columns, axis=1), rtol=1e-6, atol=1e-9)
    with pytest.raises(TypeError, match="forward-mode autodiff"):
        jax.jacfwd(output)(x)


@pytest.mark.parametrize("kind", ["ham", "chn"])
@pytest.mark.parametrize("backward", ["fixed_point_anderson", "gmres"])
def test_second_derivatives_by_reverse_over_reverse_match_finite_differences(
    kind, backward, getkey
):
    # u^T H v for the Hessian H of a loss of the equilibrium w.r.t. (model, x), by
    # differentiating the implicit gradient again (each derivative of s* is implicit),
    # against central differences of that gradient.
    sizes = DEPTHS[5] if kind == "ham" else DEPTHS[3]
    model = make_model(kind, sizes, getkey(), weight_scale=0.7)
    params = (model, random_input(getkey(), sizes[0]))
    u, v = _random_direction(getkey(), params), _random_direction(getkey(), params)
    gradient = eqx.filter_grad(_loss_fn("even_odd", EXACT_MODES[backward], hj.Picard()))
    hessian_v = eqx.filter_grad(lambda p: _dot(gradient(p), v))(params)
    fd = _directional_fd(lambda p: _dot(gradient(p), u), params, v, eps=1e-5)
    np.testing.assert_allclose(_dot(hessian_v, u), fd, rtol=1e-6)


def test_hessian_by_jacrev_of_jacrev_is_symmetric_and_unrolled_backprop_is_first_order_only(getkey):
    model = make_model("ham", DEPTHS[3], getkey(), weight_scale=0.7)
    x = random_input(getkey(), DEPTHS[3][0])

    def energy_of_output(backward):
        def loss(x):
            eq = hj.solve(model, x, rtol=1e-14, max_steps=3000, backward=backward)
            return jnp.sum(jnp.sin(eq.output))

        return loss

    hessian = jax.jacrev(jax.jacrev(energy_of_output(EXACT_MODES["gmres"])))(x)
    assert hessian.shape == (x.size, x.size)
    np.testing.assert_allclose(hessian, hessian.T, atol=1e-12)
    assert np.abs(hessian).max() > 1e-3
    with pytest.raises(ValueError, match="Reverse-mode differentiation does not work"):
        jax.jacrev(jax.jacrev(energy_of_output(EXACT_MODES["unrolled"])))(x)


def test_recurrent_backprop_is_the_truncated_neumann_series(getkey):
    """RBP with K steps gives (df/dtheta)^T sum_{k<K} (J^T)^k g: checked against an
    explicit Jacobian."""
    sizes = DEPTHS[3]
    model = make_model("ham", sizes, getkey(), weight_scale=1.5)
    x = random_input(getkey(), sizes[0])
    eq = hj.solve(model, x, update="synchronous", solver=hj.Anderson(), rtol=1e-14, max_steps=3000)
    flat_states = jnp.concatenate(eq.states)
    splits = np.cumsum([s.shape[0] for s in eq.states])[:-1]

    def flat_map(flat, x):
        states = tuple(jnp.split(flat, splits))
        return jnp.concatenate(hj.synchronous_map(model, hj.input_drive(model, x), states))

    jac_s = jax.jacobian(flat_map, argnums=0)(flat_states, x)
    jac_x = jax.jacobian(flat_map, argnums=1)(flat_states, x)
    g = jnp.zeros_like(flat_states).at[-1].set(1.0)  # d(output[-1])
    truncated = {}
    for steps in (1, 3, 8):
        w = sum(jnp.linalg.matrix_power(jac_s.T, k) @ g for k in range(steps))
        want = jac_x.T @ w

        def loss(x):
            eq = hj.solve(
                model, x, update="synchronous", solver=hj.Anderson(), rtol=1e-14,
                max_steps=3000, backward=hj.RecurrentBackprop(steps=steps),
            )
            return eq.output[-1]

        np.testing.assert_allclose(jax.grad(loss)(x), want, rtol=1e-9, atol=1e-12)
        truncated[steps] = want
        # At an exact equilibrium the papers' unrolled form is the same series.
        unrolled = hj.UnrolledRecurrentBackprop(steps=steps)
        grad_unrolled = jax.grad(lambda x: hj.solve(
            model, x, update="synchronous", solver=hj.Anderson(), rtol=1e-14,
            max_steps=3000, backward=unrolled).output[-1])(x)
        np.testing.assert_allclose(grad_unrolled, want, rtol=1e-9, atol=1e-12)
    exact = jac_x.T @ jnp.linalg.solve(jnp.eye(len(g)) - jac_s.T, g)
    errors = [float(jnp.linalg.norm(truncated[k] - exact)) for k in (1, 3, 8)]
    assert errors[0] > 1e-3 and errors[0] > errors[1] > errors[2]  # converging series


def test_unrolled_recurrent_backprop_follows_the_trajectory_off_equilibrium(getkey):
    """Stopped short of the equilibrium (3 steps), the papers' RBP is
    sum_k (df/dx at z_k)^T J_{k+1}^T ... J_{K-1}^T g along z_{k+1} = f(z_k) from the
    returned state z_0: checked against explicit Jacobians; it is not the series with J
    frozen at z_0 (hj.RecurrentBackprop)."""
    sizes = DEPTHS[3]
    model = make_model("ham", sizes, getkey(), weight_scale=1.5)
    x = random_input(getkey(), sizes[0])
    steps = 4

    def solve(x, backward):
        return hj.solve(model, x, update="synchronous", solver=hj.Picard(), max_steps=3,
                        backward=backward)

    eq = solve(x, hj.RecurrentBackprop(steps))
    assert not eq.converged
    splits = np.cumsum([s.shape[0] for s in eq.states])[:-1]

    def flat_map(flat, x):
        states = tuple(jnp.split(flat, splits))
        return jnp.concatenate(hj.synchronous_map(model, hj.input_drive(model, x), states))

    trajectory = [jnp.concatenate(eq.states)]
    for _ in range(steps - 1):
        trajectory.append(flat_map(trajectory[-1], x))
    g = jnp.zeros_like(trajectory[0]).at[-1].set(1.0)
    want, w = jnp.zeros_like(x), g
    for z in reversed(trajectory):  # w = J_{k+1}^T ... J_{K-1}^T g
        want = want + jax.jacobian(flat_map, argnums=1)(z, x).T @ w
        w = jax.jacobian(flat_map, argnums=0)(z, x).T @ w
    got = jax.grad(lambda x: solve(x, hj.UnrolledRecurrentBackprop(steps)).output[-1])(x)
    np.testing.assert_allclose(got, want, rtol=1e-9, atol=1e-12)
    frozen = jax.grad(lambda x: solve(x, hj.RecurrentBackprop(steps)).output[-1])(x)
    assert float(jnp.linalg.norm(frozen - want)) > 1e-3 * float(jnp.linalg.norm(want))


@pytest.mark.parametrize("kind", ["ham", "chn"])
@pytest.mark.parametrize(
    "backward",
    [hj.FixedPointAdjoint(rtol=1e-13, max_steps=2000), hj.RecurrentBackprop(steps=5),
     hj.UnrolledRecurrentBackprop(steps=5), hj.GMRESAdjoint(rtol=1e-12, atol=1e-14)],
    ids=["fixed-point", "rbp", "rbp-unrolled", "gmres"],
)
def test_gradients_of_a_batch_sum_over_samples(kind, backward, getkey):
    # The batched solve takes the parameter VJP through the batched map (one product
    # per shared weight); it must equal the sum of single-sample gradients, and the
    # input gradient must be each sample's own.
    sizes = DEPTHS[3]
    model = make_model(kind, sizes, getkey(), weight_scale=0.7)
    x = random_input(getkey(), sizes[0], batch=4)

    def loss(model, x):
        eq = hj.solve(model, x, rtol=1e-13, max_steps=2000, backward=backward)
        return jnp.sum(eq.output ** 2) + jnp.sum(jnp.sin(eq.states[0]))

    grad = eqx.filter_grad(lambda model_and_x: loss(*model_and_x))
    batch_model, batch_x = grad((model, x))
    # The reference: single-sample solves, vmapped (per-sample weight cotangents).
    single = eqx.filter_vmap(lambda x: grad((model, x)))(x)
    single_model, single_x = single
    np.testing.assert_allclose(batch_x, single_x, rtol=1e-9, atol=1e-12)
    for b, s in zip(jax.tree.leaves(batch_model), jax.tree.leaves(single_model)):
        np.testing.assert_allclose(b, s.sum(0), rtol=1e-9, atol=1e-12)


def test_unrolled_gradient_through_safeguarded_anderson_is_finite():
    # The safeguard discards singular or rejected proposals with jnp.where; their
    # gradients must not carry NaN into the kept branch (0 * NaN = NaN). This network
    # and input made every gradient leaf NaN before the fix.
    model = hj.HAM((20, 30, 10), key=jax.random.PRNGKey(0), dtype=jnp.float32)
    x = jax.random.uniform(jax.random.PRNGKey(1), (4, 20), jnp.float32)[3]

    def loss(model, backward):
        eq = hj.solve(model, x, solver=hj.Anderson(), backward=backward, max_steps=50)
        return jnp.sum(eq.output ** 2)

    unrolled = eqx.filter_grad(loss)(model, hj.UnrolledBackprop())
    implicit = eqx.filter_grad(loss)(model, hj.FixedPointAdjoint())
    for u, i in zip(jax.tree.leaves(unrolled), jax.tree.leaves(implicit)):
        assert bool(jnp.all(jnp.isfinite(u)))
        assert float(jnp.linalg.norm(u - i)) <= 0.05 * float(jnp.linalg.norm(i)) + 1e-6


@pytest.mark.parametrize("solver", [hj.Picard(atol=1e-3), hj.Anderson(atol=1e-3)], ids=["picard", "anderson"])
def test_default_adjoint_does_not_inherit_the_forward_atol(solver, getkey):
    """The forward `atol` is sized for the states; the adjoint vectors of a batch-mean
    loss are ~1/batch, so a shared `atol` would stop the adjoint after a step or two."""
    model = make_model("ham", (20, 16, 12, 8), getkey())
    x = random_input(getkey(), 20, batch=256)

    def loss(model, backward):
        eq = hj.solve(model, x, solver=solver, rtol=1e-10, max_steps=2000, backward=backward)
        return jnp.mean(jnp.sum((eq.output - 0.5) ** 2, -1))

    default = eqx.filter_grad(loss)(model, hj.FixedPointAdjoint(rtol=1e-8, max_steps=2000))
    exact = eqx.filter_grad(loss)(model, hj.GMRESAdjoint(rtol=1e-12, atol=1e-14))
    for d, e in zip(jax.tree.leaves(default), jax.tree.leaves(exact)):
        assert float(jnp.linalg.norm(d - e)) <= 1e-5 * float(jnp.linalg.norm(e))


@pytest.mark.parametrize("backward", [
    hj.FixedPointAdjoint(), hj.GMRESAdjoint(), hj.RecurrentBackprop(), hj.UnrolledRecurrentBackprop(),
])
def test_an_eager_gradient_compiles_its_backward_pass_once(backward, getkey):
    # Run op by op, the adjoint solve's closures were new functions at every call, and
    # every jax.grad compiled the backward pass again (about 1 s for the papers' HAM).
    compiles = compile_log()
    model = make_model("ham", DEPTHS[3], getkey())

    def loss(x):
        return jnp.sum(hj.solve(model, x, backward=backward).output ** 2)

    jax.grad(loss)(random_input(getkey(), DEPTHS[3][0], batch=4))
    first = len(compiles)
    grad = jax.grad(loss)(random_input(getkey(), DEPTHS[3][0], batch=4))
    assert first > 0 and len(compiles) == first, (first, len(compiles))
    assert bool(jnp.all(jnp.isfinite(grad)))


def _linear_map(y, params):
    """y = a * y + b, elementwise: the fixed point b / (1 - a), and with a = 5 in one
    coordinate a Jacobian that is not a contraction (Anderson still converges there;
    Picard iteration of the adjoint diverges; so does the papers' safeguarded Anderson,
    which falls back to Picard steps)."""
    return params["a"] * y + params["b"]


LINEAR_PARAMS = {"a": jnp.array([5.0, 0.5, 0.25]), "b": jnp.array([1.0, 1.0, -2.0])}


def _linear_fixed_point(params, backward, throw=False):
    return hj.implicit_fixed_point(
        _linear_map, hj.Anderson(rtol=1e-10, safeguard=False), jnp.zeros(3), params,
        max_steps=60, backward=backward, throw=throw,
    )


def _gradient_of_the_linear_fixed_point(backward, throw=False):
    def loss(params):
        y, monitor = _linear_fixed_point(params, backward, throw)
        assert monitor.converged.shape == ()  # (a traced bool: checked below, eagerly)
        return jnp.sum(y)

    return jax.grad(loss)(LINEAR_PARAMS)


def test_an_adjoint_that_does_not_converge_is_reported():
    forward = _linear_fixed_point(LINEAR_PARAMS, hj.FixedPointAdjoint())
    np.testing.assert_allclose(forward[0], [-0.25, 2.0, -8 / 3], rtol=1e-6)
    assert bool(forward[1].converged)
    # dL/db = (I - diag(a))^{-1} 1 = (-1/4, 2, 4/3): Anderson's adjoint and GMRES find
    # it (no warning). Picard's adjoint diverges (5 > 1), a one-step adjoint and a
    # one-step GMRES stop short: each is reported, and raises with throw=True.
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        for found in (hj.FixedPointAdjoint(), hj.GMRESAdjoint()):
            grads = _gradient_of_the_linear_fixed_point(found)
            np.testing.assert_allclose(grads["b"], [-0.25, 2.0, 4 / 3], rtol=1e-6)
    for unfound in (
        hj.FixedPointAdjoint(solver=hj.Picard()),  # overflows to inf, then NaN
        hj.FixedPointAdjoint(max_steps=1),
        hj.GMRESAdjoint(restart=1, max_steps=1),
    ):
        name = type(unfound).__name__
        reported = f"{name}: the adjoint .* did not converge for 1 of 1 samples"
        with pytest.warns(hj.AdjointNonConvergenceWarning, match=reported):
            _gradient_of_the_linear_fixed_point(unfound)
        # Raised on the host from the compiled backward pass: JAX wraps it.
        with pytest.raises(Exception, match="did not converge for 1 of 1 samples") as error:
            _gradient_of_the_linear_fixed_point(unfound, throw=True)
        assert isinstance(error.value, (hj.NonConvergenceError, jax.errors.JaxRuntimeError))
    # The papers' series has no tolerance, only overflow to report: 5^k passes float64's
    # largest number before 500 terms.
    overflowing = "RecurrentBackprop: .* for 1 of 1 samples \\(its K-term series .* overflowed"
    with pytest.warns(hj.AdjointNonConvergenceWarning, match=overflowing):
        _gradient_of_the_linear_fixed_point(hj.RecurrentBackprop(steps=500))


def test_an_adjoint_whose_step_is_small_but_residual_is_not_is_reported():
    # A fixed-point solver's test is on its step. A damped Picard adjoint moves 0.1 x its
    # residual per step, so its test (rtol 1e-4) passes at a residual near 1e-3 |w|, and
    # w is 1 % off. FixedPointAdjoint checks the true residual J^T w + g - w: reported.
    params = {"a": jnp.array([0.9, 0.5, 0.25]), "b": jnp.array([1.0, 1.0, -2.0])}
    exact = 1 / (1 - params["a"])  # dL/db for L = sum(y), y = a y + b

    def gradient(solver):
        loss = lambda p: jnp.sum(_linear_fixed_point(p, hj.FixedPointAdjoint(solver=solver))[0])
        return jax.grad(loss)(params)["b"]

    with pytest.warns(hj.AdjointNonConvergenceWarning, match="for 1 of 1 samples"):
        creeping = gradient(hj.Picard(rtol=1e-4, damping=0.9))
    assert float(jnp.linalg.norm(creeping - exact)) > 1e-3 * float(jnp.linalg.norm(exact))
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # the same solver undamped: its step is its residual
        np.testing.assert_allclose(gradient(hj.Picard(rtol=1e-4)), exact, rtol=1e-3)
        np.testing.assert_allclose(gradient(hj.Picard(rtol=1e-10)), exact, rtol=1e-8)


def _small_ham_gradients(getkey):
    """`gradient(backward, throw=False)`, the jit-compiled gradient of a sum-of-squares
    loss of a 3-layer HAM's solve of 5 random inputs, and `per_example(backward)`, the
    `jax.vmap` of its one-sample gradients."""
    model = hj.HAM((12, 9, 4), key=getkey())
    x = random_input(getkey(), 12, batch=5)

    # Each waits for its result: the report comes from a callback of the computation,
    # which jax may run after the call returns (asynchronous dispatch).
    def gradient(backward, throw=False):
        loss = lambda m: jnp.sum(hj.solve(m, x, backward=backward, throw=throw).output ** 2)
        return jax.block_until_ready(jax.jit(jax.grad(loss))(model))

    def per_example(backward):
        loss = lambda m, x: jnp.sum(hj.solve(m, x, backward=backward).output ** 2)
        return jax.block_until_ready(jax.vmap(jax.grad(loss), in_axes=(None, 0))(model, x))

    return gradient, per_example


def test_solve_reports_the_samples_whose_adjoint_did_not_converge(getkey):
    gradient, per_example = _small_ham_gradients(getkey)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        gradient(hj.FixedPointAdjoint())  # converged forward and adjoint: silent
    with pytest.warns(hj.AdjointNonConvergenceWarning, match="for 5 of 5 samples") as caught:
        gradient(hj.FixedPointAdjoint(max_steps=2))
    # the counts, for code that catches the warning, as numbers
    (warning,) = caught
    assert (warning.message.failed, warning.message.samples) == (5, 5)
    assert type(warning.message.failed) is int
    # attributed to hopjax (not to JAX's callback machinery), so a filter by module works
    assert pathlib.Path(warning.filename).parts[-2:] == ("hopjax", "_nonconvergence.py")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        warnings.filterwarnings("ignore", module="hopjax")
        gradient(hj.FixedPointAdjoint(max_steps=2))
    with pytest.raises(Exception, match="FixedPointAdjoint: the adjoint .* for 5 of 5 samples"):
        gradient(hj.FixedPointAdjoint(max_steps=2), throw=True)

    # Per-example gradients (jax.vmap of the gradient of one-sample solves): the check
    # is batched with them, silent where each adjoint converged.
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert per_example(hj.FixedPointAdjoint()).weights[0].shape == (5, 12, 9)
    with pytest.warns(hj.AdjointNonConvergenceWarning, match="for 1 of 1 samples"):
        per_example(hj.FixedPointAdjoint(max_steps=2))


def test_count_adjoint_failures_counts_whatever_the_warning_filters_do(getkey):
    gradient, per_example = _small_ham_gradients(getkey)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with hj.count_adjoint_failures() as outer:
            gradient(hj.FixedPointAdjoint())  # converged: nothing to count
            assert (outer.failed, outer.reports) == (0, 0)
            with hj.count_adjoint_failures() as inner:
                gradient(hj.FixedPointAdjoint(max_steps=2))
                gradient(hj.GMRESAdjoint(max_steps=1, restart=1))
            with pytest.raises(Exception, match="for 5 of 5 samples"):
                gradient(hj.FixedPointAdjoint(max_steps=2), throw=True)
        with hj.count_adjoint_failures() as later:
            gradient(hj.FixedPointAdjoint(max_steps=2))
    assert (inner.failed, inner.reports) == (10, 2)
    assert (outer.failed, outer.reports) == (15, 3)  # the nested block's and the raised one
    assert (later.failed, later.reports) == (5, 1)  # a closed block counts no more
    assert repr(inner) == "AdjointFailureCount(failed=10, reports=2)"

    # Per-example gradients: one report per failed sample, none for the others.
    with warnings.catch_warnings(), hj.count_adjoint_failures() as count:
        warnings.simplefilter("ignore")
        per_example(hj.FixedPointAdjoint(max_steps=2))
        per_example(hj.FixedPointAdjoint())
    assert (count.failed, count.reports) == (5, 5)


def test_default_adjoint_is_plain_anderson_where_the_safeguard_crawls():
    # A float32 5-layer HAM at the papers' initialisation, synchronous updates: the
    # spectral radius of J is near 1 for some samples. The papers' safeguard (made for
    # the nonlinear forward map) fell back to plain steps on the linear adjoint and left
    # it unconverged, the gradient off by 50 % (with a warning); plain Anderson, the
    # default's adjoint since 2026-12-05, reaches the tight GMRES gradient.
    model = hj.HAM((200, 150, 100, 50, 10), key=jax.random.PRNGKey(2), dtype=jnp.float32)
    x = jax.random.uniform(jax.random.PRNGKey(12), (8, 200), jnp.float32)

    def weight_gradient(backward):
        loss = lambda m: jnp.sum(hj.solve(m, x, update="synchronous", backward=backward).output ** 2)
        return jnp.concatenate([g.ravel() for g in jax.grad(loss)(model).weights])

    exact = weight_gradient(hj.GMRESAdjoint(rtol=1e-7, max_steps=2000))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        default = weight_gradient(hj.FixedPointAdjoint())
    assert float(jnp.linalg.norm(default - exact) / jnp.linalg.norm(exact)) < 1e-3
