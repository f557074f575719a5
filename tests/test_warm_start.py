"""`solve(..., init=...)`: where the iteration starts, per sample."""

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
import pytest

import hopjax as hj

from .helpers import as_numpy, DEPTHS, make_model, random_input
from .reference import DenseReference


SCHEMES = [(kind, update) for kind in ("ham", "chn") for update in ("even_odd", "synchronous")]


def _random_states(key, model, batch):
    keys = jax.random.split(key, model.num_state_layers)
    return tuple(
        jax.random.normal(k, (batch, d), jnp.float64) for k, d in zip(keys, model.layer_sizes[1:])
    )


@pytest.mark.parametrize("kind,update", SCHEMES)
def test_every_start_reaches_the_unique_equilibrium_and_one_at_it_stays(kind, update, getkey):
    """A contractive network has one equilibrium: from zeros, from a random state per
    sample, and from that equilibrium itself (converged at the first step, unmoved)."""
    sizes = DEPTHS[5] if kind == "ham" else DEPTHS[3]
    model = make_model(kind, sizes, getkey(), weight_scale=0.5)
    x = random_input(getkey(), sizes[0], batch=3)
    options = dict(update=update, rtol=1e-12, max_steps=1000)
    zero = hj.solve(model, x, **options)
    start = _random_states(getkey(), model, batch=3)
    moved = hj.solve(model, x, init=start, **options)
    stayed = hj.solve(model, x, init=zero.states, **options)
    single = hj.solve(model, x[1], init=tuple(s[1] for s in start), **options)
    assert np.all(zero.converged) and np.all(moved.converged) and np.all(stayed.converged)
    assert np.all(stayed.num_steps == 1)
    assert np.all(stayed.paper_iterations == 999)  # the papers' "hit at index 0" cap
    reference = DenseReference(model)
    for eq in (moved, stayed):
        for a, b in zip(as_numpy(zero.states), as_numpy(eq.states)):
            np.testing.assert_allclose(b, a, rtol=1e-9, atol=1e-10)
    for a, b in zip(as_numpy(moved.states), as_numpy(single.states)):
        np.testing.assert_allclose(b, a[1], rtol=1e-9, atol=1e-10)
    for sample in range(3):
        states = [s[sample] for s in as_numpy(moved.states)]
        assert reference.residual(np.asarray(x[sample]), states) < 1e-9


def _bistable_ham():
    r"""A 1-1-1 HAM without input coupling whose two state units excite each other:
    $s = 2\rho(s') - \frac12$ has stable equilibria near $s = s' = 1.46$ and
    $s = s' = -0.46$ (and an unstable one at $\frac12$)."""
    model = hj.HAM((1, 1, 1), key=jax.random.key(0), dtype=jnp.float64)
    return eqx.tree_at(
        lambda m: (m.weights, m.biases),
        model,
        (
            (jnp.zeros((1, 1)), jnp.full((1, 1), 2.0)),
            (jnp.full((1,), -0.5), jnp.full((1,), -0.5)),
        ),
    )


@pytest.mark.parametrize("update", ["even_odd", "synchronous"])
def test_the_start_picks_the_basin_of_a_network_with_two_equilibria(update):
    """Picard follows the dynamics: the basins meet at the unstable equilibrium 1/2."""
    model = _bistable_ham()
    x = jnp.full((4, 1), 0.3)
    start = jnp.array([[1.5], [0.55], [0.45], [-0.5]])  # the same in both layers
    eq = hj.solve(
        model, x, update=update, solver=hj.Picard(), init=(start, start), rtol=1e-12,
        max_steps=500,
    )
    assert np.all(eq.converged)
    reference = DenseReference(model)
    for sample, want in enumerate((1.46, 1.46, -0.46, -0.46)):
        states = [s[sample] for s in as_numpy(eq.states)]
        assert reference.residual(np.asarray(x[sample]), states) < 1e-10
        np.testing.assert_allclose(np.concatenate(states), [want, want], atol=0.01)
    # From zeros every sample falls into the low basin.
    np.testing.assert_allclose(hj.solve(model, x, update=update).output, -0.46, atol=0.01)


def test_anderson_can_leave_the_basin_of_its_start_as_documented():
    # solve's docstring: Anderson's extrapolation crosses basin boundaries, and without
    # the safeguard it can converge to the unstable equilibrium (a true fixed point).
    model = _bistable_ham()
    x, start = jnp.full((2, 1), 0.3), jnp.array([[0.4], [0.6]])
    crossed = hj.solve(model, x, update="synchronous", init=(start, start), rtol=1e-12)
    np.testing.assert_allclose(crossed.output[0], 1.46, atol=0.01)  # Picard: -0.46
    unstable = hj.solve(
        model, x, solver=hj.Anderson(safeguard=False), init=(start, start), rtol=1e-12
    )
    np.testing.assert_allclose(unstable.output[1], 0.5, atol=1e-6)  # Picard: 1.46
    assert np.all(unstable.converged)
    # hj.spectral_radius tells it apart: the even-odd map's derivative there is
    # (2 rho'(1/2))^2 = 4, and below 1 at the stable equilibrium.
    radius = hj.spectral_radius(model, x, unstable.states, update="even_odd")
    np.testing.assert_allclose(radius[1], 4.0, rtol=1e-6)
    assert hj.spectral_radius(model, x, crossed.states, update="even_odd")[0] < 0.1


@pytest.mark.parametrize(
    "backward", [hj.FixedPointAdjoint(), hj.RecurrentBackprop(30), hj.UnrolledBackprop()],
    ids=["fixed-point", "rbp", "unrolled"],
)
def test_no_gradient_reaches_the_start_and_the_models_is_unchanged(backward, getkey):
    sizes = DEPTHS[3]
    model = make_model("ham", sizes, getkey(), weight_scale=0.5)
    x = random_input(getkey(), sizes[0], batch=3)
    target = jax.random.normal(getkey(), (3, sizes[-1]), jnp.float64)

    def loss(model, init):
        eq = hj.solve(model, x, init=init, backward=backward, rtol=1e-12, max_steps=500)
        return jnp.sum((eq.output - target) ** 2)

    start = _random_states(getkey(), model, batch=3)
    zeros = tuple(jnp.zeros_like(s) for s in start)
    from_start, to_start = eqx.filter_grad(loss)(model, start), jax.grad(loss, argnums=1)(model, start)
    from_zeros = eqx.filter_grad(loss)(model, zeros)
    for a, b in zip(jax.tree.leaves(from_zeros), jax.tree.leaves(from_start), strict=True):
        np.testing.assert_allclose(b, a, rtol=1e-6, atol=1e-9)
    assert all(np.all(np.asarray(g) == 0) for g in to_start)


def test_a_bad_start_is_named(getkey):
    sizes = DEPTHS[3]
    model = make_model("ham", sizes, getkey())
    x = random_input(getkey(), sizes[0], batch=2)
    good = _random_states(getkey(), model, batch=2)
    nan_start = (good[0], good[1].at[1, 2].set(jnp.nan))
    inf_in_layer_1 = (good[0].at[0, 0].set(jnp.inf), good[1])
    cases = [
        (good[:1], ValueError, r"solve: init needs one state per state layer \(2\)"),
        ((good[0], good[1][0]), ValueError, r"solve: init: state 2 must have shape \(2, 4\) \(4 units, batched like x"),
        # one sample's state for a batch: the message says how to start every sample there
        ((good[0], good[1][0]), ValueError, r"got \(4,\)\. For the same state in every sample, give "
         r"jnp\.broadcast_to\(state, \(2, 4\)\)\.$"),
        ((good[0], good[1][:, :3]), ValueError, r"got \(2, 3\)\.$"),  # no such advice here
        ((None, good[1]), ValueError, "solve: init needs every layer's state, but state 1 is None"),
        ((good[0], jnp.ones((2, 4), int)), TypeError, "solve: init's state 2 must be floating point, got dtype int"),
        (nan_start, ValueError, "The initial states init contains NaN or Inf"),
        # layer 1 is recomputed by the even-odd map here, but a NaN there is still a bug
        (inf_in_layer_1, ValueError, r"init contains NaN or Inf values \(in \[0\]\)"),
    ]
    # were errors about the layers' shapes (e.g. "state 1 must have shape (2, 9) ...,
    # got (4,)"): the rows of one array, or a dict's keys, were taken for the layers
    eq = hj.solve(model, x)
    cases += [
        (eq.output, TypeError, r"solve: init: states must be a sequence of arrays, one per state layer "
         r"\(e.g. Equilibrium.states\), got one array of shape \(2, 4\)"),
        ({"s1": good[0], "s2": good[1]}, TypeError, "sequence of arrays, one per state layer .*, got dict"),
        (eq, TypeError, r"\(e.g. Equilibrium.states\), got Equilibrium"),
    ]
    for init, error, message in cases:
        with pytest.raises(error, match=message):
            hj.solve(model, x, init=init)
    for start in (nan_start, inf_in_layer_1):  # traced: the check runs in the compiled solve
        with pytest.raises(Exception, match="The initial states init contains NaN or Inf"):
            jax.jit(lambda init: hj.solve(model, x, init=init).output)(start).block_until_ready()
