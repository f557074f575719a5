"""Invariants of the dynamics: energy descent, 2-cycles, and the halving of iterations."""

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
import pytest

import hopjax as hj

from .helpers import DEPTHS, make_model, random_input
from .reference import DenseReference


def _even_odd_energies(model, x, half_steps):
    """Energy after every half-step of even-odd updates from zero states."""
    drive = hj.input_drive(model, x)
    L = model.num_state_layers
    states = tuple(jnp.zeros((d,), x.dtype) for d in model.layer_sizes[1:])
    energies = [hj.energy(model, x, states)]
    for k in range(half_steps):
        layers = hj.auxiliary_layers(L) if k % 2 == 0 else hj.modelled_layers(L)
        states = hj.local_equilibria(model, drive, states, layers)
        energies.append(hj.energy(model, x, states))
    return jnp.stack(energies)


@pytest.mark.parametrize("depth", [3, 4, 5, 7])
def test_ham_energy_never_increases_under_even_odd_updates(depth, getkey):
    sizes = DEPTHS[depth]

    @jax.jit
    def energies(key):
        k1, k2, k3 = jax.random.split(key, 3)
        scale = jax.random.uniform(k3, (), minval=0.5, maxval=4.0)
        model = hj.HAM(sizes, key=k1, dtype=jnp.float64, skips=((0, 3),) if depth > 3 else ())
        model = eqx.tree_at(lambda m: m.weights, model, tuple(scale * w for w in model.weights))
        x = jax.random.uniform(k2, (sizes[0],), jnp.float64)
        return _even_odd_energies(model, x, 30)

    for _ in range(40):  # 40 random networks per depth, couplings up to 4x Xavier
        e = np.asarray(energies(getkey()))
        increase = np.diff(e)
        assert np.all(increase <= 1e-10 * (1 + np.abs(e[1:]))), increase.max()
        assert increase.min() < 0  # and it does go down


def _bistable_chain(dtype=jnp.float64):
    """Two single-unit state layers with a strong inhibitory coupling: synchronous
    updates from zero oscillate between (4, 4) and (-4, -4), even-odd settles."""
    model = hj.HAM((1, 1, 1), key=jax.random.PRNGKey(0), dtype=dtype)
    return eqx.tree_at(
        lambda m: (m.weights, m.biases),
        model,
        (
            (jnp.zeros((1, 1), dtype), jnp.full((1, 1), -8.0, dtype)),
            (jnp.full((1,), 4.0, dtype), jnp.full((1,), 4.0, dtype)),
        ),
    )


def test_synchronous_updates_can_two_cycle_where_even_odd_converges():
    model = _bistable_chain()
    x = jnp.zeros((1,))
    sync = hj.solve(model, x, update="synchronous", solver=hj.Picard(), max_steps=100, trace=True)
    assert not bool(sync.converged)  # reported, never pretended
    assert int(sync.num_steps) == 100
    tail = sync.trace[-10:]
    assert np.all(tail > 1.0)  # a 2-cycle: every step moves by more than the state's size
    eo = hj.solve(model, x, update="even_odd", solver=hj.Picard(), max_steps=100)
    assert bool(eo.converged)
    s1, s2 = (float(s[0]) for s in eo.states)
    assert s1 * s2 < 0  # the anti-aligned equilibrium
    assert DenseReference(model).residual(np.zeros(1), [np.asarray(s) for s in eo.states]) < 1e-6
    # the synchronous iterates really alternate between two states
    drive = hj.input_drive(model, x)
    states = tuple(jnp.zeros((1,)) for _ in range(2))
    seen = []
    for _ in range(60):
        states = hj.synchronous_map(model, drive, states)
        seen.append(float(states[0][0]))
    assert abs(seen[-1] - seen[-3]) < 1e-6 and abs(seen[-1] - seen[-2]) > 7
    with pytest.raises(hj.NonConvergenceError, match="1 of 1 samples did not converge"):
        hj.solve(model, x, update="synchronous", solver=hj.Picard(), max_steps=100, throw=True)


@pytest.mark.parametrize("depth", [5, 7])
def test_even_odd_needs_about_half_the_iterations(depth, getkey):
    """Synchronous updates are two interleaved even-odd chains (main paper App. E), so
    with Picard they need about twice the steps, on random networks where both
    converge (couplings at 0.6x Xavier, random biases). One network's ratio depends on
    the draw (1.70 to 3.06 over 256 draws), so the median over eight is checked (1.79
    to 2.20 over 32 such medians); no network needs fewer than 1.5x."""
    sizes = (64, 48, 40, 32, 24, 16, 10)[: depth - 1] + (10,)
    ratios = []
    for _ in range(8):
        model = make_model("ham", sizes, getkey(), weight_scale=0.6)
        x = random_input(getkey(), sizes[0], batch=64)
        steps = {}
        for update in ("synchronous", "even_odd"):
            eq = hj.solve(model, x, update=update, solver=hj.Picard(), max_steps=500)
            assert bool(jnp.all(eq.converged))
            steps[update] = float(jnp.mean(eq.num_steps))
        ratios.append(steps["synchronous"] / steps["even_odd"])
    assert 1.7 <= np.median(ratios) <= 2.3 and min(ratios) > 1.5, ratios


def test_batched_steps_differ_per_sample_and_match_single_solves(getkey):
    sizes = DEPTHS[5]
    model = make_model("ham", sizes, getkey(), weight_scale=1.0)
    x = random_input(getkey(), sizes[0], batch=12) * jnp.linspace(0.0, 3.0, 12)[:, None]
    for solver in (hj.Picard(), hj.Anderson()):
        batch = hj.solve(model, x, solver=solver, max_steps=400)
        assert len(set(np.asarray(batch.num_steps).tolist())) > 1
        for i in range(12):
            one = hj.solve(model, x[i], solver=solver, max_steps=400)
            assert int(one.num_steps) == int(batch.num_steps[i])
            assert bool(one.converged) == bool(batch.converged[i])
            for s_one, s_batch in zip(one.states, batch.states):
                np.testing.assert_allclose(s_one, s_batch[i], rtol=1e-12, atol=1e-13)
