"""`spectral_radius`: against a float64 NumPy Jacobian, and as the test of whether
Picard iteration can converge to an equilibrium."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import hopjax as hj

from .helpers import as_numpy, compile_log, DEPTHS, make_model, random_input
from .reference import DenseReference


def reference_radius(model, x, states, update, damping):
    """Largest eigenvalue modulus of the NumPy reference map's Jacobian (central
    differences in float64), damped as F = damping s + (1 - damping) f."""
    ref = DenseReference(model)
    x = np.asarray(x, np.float64)
    states = as_numpy(states)
    if update == "synchronous":
        layers = list(range(1, ref.L + 1))
        step = ref.synchronous
    else:  # even-odd HAM: only the output's parity is the fixed-point state
        layers = [j for j in range(1, ref.L + 1) if (ref.L - j) % 2 == 0]
        step = ref.even_odd
    sizes = [ref.sizes[j] for j in layers]
    cuts = np.cumsum(sizes)[:-1]

    def f(v):
        parts = dict(zip(layers, np.split(v, cuts)))
        full = [parts.get(j) for j in range(1, ref.L + 1)]
        new = step(x, full)
        return np.concatenate([new[j - 1] for j in layers])

    v = np.concatenate([states[j - 1] for j in layers])
    h = 1e-6
    jacobian = np.stack(
        [(f(v + h * e) - f(v - h * e)) / (2 * h) for e in np.eye(v.size)], axis=1
    )
    jacobian = damping * np.eye(v.size) + (1 - damping) * jacobian
    return np.max(np.abs(np.linalg.eigvals(jacobian)))


@pytest.mark.parametrize(
    "kind, update, damping, scale",
    [
        ("ham", "synchronous", 0.0, 2.0),
        ("ham", "even_odd", 0.0, 2.0),
        ("ham", "synchronous", 0.3, 1.0),
        ("chn", "synchronous", 0.5, 1.0),
        ("chn", "synchronous", 0.5, 3.0),  # an unstable equilibrium (radius > 1)
    ],
)
def test_spectral_radius_matches_the_numpy_jacobian(getkey, kind, update, damping, scale):
    sizes = DEPTHS[4]
    model = make_model(kind, sizes, getkey(), weight_scale=scale)
    x = random_input(getkey(), sizes[0], batch=3)
    eq = hj.solve(model, x, update=update, damping=damping, rtol=1e-12, max_steps=3000)
    assert bool(jnp.all(eq.converged))
    radius = hj.spectral_radius(
        model, x, eq.states, update=update, damping=damping, iterations=3000
    )
    assert radius.shape == (3,)
    for i in range(3):
        states = tuple(s[i] for s in eq.states)
        expected = reference_radius(model, x[i], states, update, damping)
        np.testing.assert_allclose(radius[i], expected, rtol=1e-3)
        single = hj.spectral_radius(
            model, x[i], states, update=update, damping=damping, iterations=3000
        )
        np.testing.assert_allclose(single, radius[i], rtol=1e-12)


def test_picard_converges_exactly_where_the_radius_is_below_one(getkey):
    # Strong couplings: Anderson still finds every equilibrium of the CHN, but some
    # (synchronous: all; even-odd: some) repel Picard iteration.
    sizes = DEPTHS[3]
    model = make_model("chn", sizes, jax.random.PRNGKey(1), weight_scale=3.0)
    x = random_input(jax.random.PRNGKey(2), sizes[0], batch=8)
    for update in ("synchronous", "even_odd"):
        anderson = hj.solve(model, x, update=update, rtol=1e-10, max_steps=2000)
        picard = hj.solve(
            model, x, update=update, solver=hj.Picard(), rtol=1e-10, max_steps=2000
        )
        assert bool(jnp.all(anderson.converged))
        radius = hj.spectral_radius(model, x, anderson.states, update=update)
        np.testing.assert_array_equal(picard.converged, radius < 1)
        assert 0 < int(jnp.sum(radius > 1))  # the case is really exercised
        if update == "synchronous":
            assert bool(jnp.all(radius > 1))
    weak = make_model("chn", sizes, jax.random.PRNGKey(1), weight_scale=1.0)
    eq = hj.solve(weak, x, update="synchronous", solver=hj.Picard(), rtol=1e-10,
                  max_steps=2000)
    assert bool(jnp.all(eq.converged))
    assert bool(jnp.all(hj.spectral_radius(weak, x, eq.states) < 1))


def test_truncated_recurrent_backprop_grows_like_the_radius(getkey):
    # Where the radius exceeds one the K-term series is no gradient: its norm grows
    # about like radius**K, while the adjoint solved by GMRES stays put.
    sizes = DEPTHS[3]
    model = make_model("chn", sizes, jax.random.PRNGKey(1), weight_scale=3.0)
    x = random_input(jax.random.PRNGKey(2), sizes[0])
    eq = hj.solve(model, x, update="synchronous", rtol=1e-12, max_steps=2000)
    radius = float(hj.spectral_radius(model, x, eq.states))

    def input_gradient(backward):
        def output(x):
            return jnp.sum(hj.solve(model, x, update="synchronous", rtol=1e-12,
                                    max_steps=2000, backward=backward).output)
        return jnp.linalg.norm(jax.grad(output)(x))

    exact = input_gradient(hj.GMRESAdjoint())
    growth = input_gradient(hj.RecurrentBackprop(40)) / input_gradient(
        hj.RecurrentBackprop(20)
    )
    assert radius > 1.2 and np.isfinite(exact)
    np.testing.assert_allclose(np.log(growth) / 20, np.log(radius), rtol=0.05)


def test_spectral_radius_rejects_bad_arguments(getkey):
    sizes = DEPTHS[3]
    model = make_model("ham", sizes, getkey())
    x = random_input(getkey(), sizes[0])
    states = hj.solve(model, x).states
    with pytest.raises(ValueError, match="spectral_radius: update must be one of"):
        hj.spectral_radius(model, x, states, update="gauss_seidel")
    with pytest.raises(ValueError, match="at least 2 iterations"):
        hj.spectral_radius(model, x, states, iterations=1)
    with pytest.raises(ValueError, match="damping"):
        hj.spectral_radius(model, x, states, damping=1.5)
    with pytest.raises(ValueError, match="spectral_radius"):
        hj.spectral_radius(model, x, states[:1])


def test_an_eager_spectral_radius_compiles_once(getkey):
    # Its scan's body was a new closure at every eager call, compiled each time.
    compiles = compile_log()
    model = make_model("chn", DEPTHS[3], getkey())
    x = random_input(getkey(), DEPTHS[3][0], batch=3)
    states = hj.solve(model, x).states
    first = hj.spectral_radius(model, x, states, update="synchronous")
    before = len(compiles)
    again = hj.spectral_radius(model, x, states, update="synchronous")
    assert len(compiles) == before
    np.testing.assert_array_equal(first, again)
