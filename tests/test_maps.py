import jax
import jax.numpy as jnp
import numpy as np
import pytest

import hopjax as hj

from .helpers import as_numpy, DEPTHS, make_model, random_input, random_states
from .reference import DenseReference


SKIPS = {3: (), 4: ((0, 3),), 5: ((0, 3), (1, 4)), 7: ((1, 4), (3, 6), (0, 5))}


@pytest.mark.parametrize("depth", sorted(DEPTHS))
@pytest.mark.parametrize("kind", ["ham", "chn"])
@pytest.mark.parametrize("with_skips", [False, True])
def test_synchronous_map_matches_dense_reference(depth, kind, with_skips, getkey):
    sizes = DEPTHS[depth]
    skips = SKIPS[depth] if with_skips else ()
    model = make_model(kind, sizes, getkey(), skips=skips)
    x = random_input(getkey(), sizes[0])
    states = random_states(getkey(), sizes)
    drive = hj.input_drive(model, x)
    got = hj.synchronous_map(model, drive, states)
    want = DenseReference(model).synchronous(np.asarray(x), as_numpy(states))
    for g, w in zip(got, want):
        np.testing.assert_allclose(g, w, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("depth", sorted(DEPTHS))
@pytest.mark.parametrize("with_skips", [False, True])
def test_even_odd_map_matches_dense_reference(depth, with_skips, getkey):
    sizes = DEPTHS[depth]
    skips = SKIPS[depth] if with_skips else ()
    model = make_model("ham", sizes, getkey(), skips=skips)
    x = random_input(getkey(), sizes[0])
    full = random_states(getkey(), sizes)
    modelled = hj.modelled_layers(depth - 1)
    assert modelled[-1] == depth - 1  # the output's parity is modelled
    states = tuple(s if j in modelled else None for j, s in enumerate(full, start=1))
    drive = hj.input_drive(model, x)
    got = hj.even_odd_map(model, drive, states)
    ref = DenseReference(model)
    want = ref.even_odd(np.asarray(x), as_numpy(states))
    for j, (g, w) in enumerate(zip(got, want), start=1):
        if j in modelled:
            np.testing.assert_allclose(g, w, rtol=1e-12, atol=1e-12)
        else:
            assert g is None
    # reconstruction fills the auxiliary parity with its local equilibrium
    filled = hj.reconstruct_states(model, drive, got)
    again = ref.even_odd(np.asarray(x), as_numpy(got))
    for j in hj.auxiliary_layers(depth - 1):
        expected = ref.layer_update(np.asarray(x), as_numpy(filled), [j])[j - 1]
        np.testing.assert_allclose(filled[j - 1], expected, rtol=1e-12, atol=1e-12)
    assert len(again) == depth - 1


def test_even_odd_map_is_two_synchronous_half_steps_for_chn(getkey):
    """CHN even-odd: inner damped iterations on the auxiliary parity, then the modelled
    one, each warm-started from the incoming states."""
    sizes = DEPTHS[5]
    model = make_model("chn", sizes, getkey(), inner_steps=3, inner_damping=0.25)
    x = np.asarray(random_input(getkey(), sizes[0]))
    states = random_states(getkey(), sizes)
    got = hj.even_odd_map(model, hj.input_drive(model, jnp.asarray(x)), states)
    ref = DenseReference(model)
    full = as_numpy(states)
    for layers in ([1, 3], [2, 4]):  # L = 4: output (4) is even, auxiliary odd first
        for _ in range(3):
            new = ref.synchronous(x, full)
            full = [
                0.25 * s + 0.75 * n if j in layers else s
                for j, (s, n) in enumerate(zip(full, new), start=1)
            ]
    for g, w in zip(got, full):
        np.testing.assert_allclose(g, w, rtol=1e-12, atol=1e-12)


def test_damped_map_is_forward_euler(getkey):
    sizes = DEPTHS[3]
    model = make_model("ham", sizes, getkey())
    x = random_input(getkey(), sizes[0])
    states = random_states(getkey(), sizes)
    drive = hj.input_drive(model, x)
    damped = hj.damped_map(hj.synchronous_map, 0.3)
    plain = hj.synchronous_map(model, drive, states)
    for d, s, p in zip(damped(model, drive, states), states, plain):
        np.testing.assert_allclose(d, s + 0.3 * (p - s), rtol=1e-13)


@pytest.mark.parametrize("kind", ["ham", "chn"])
@pytest.mark.parametrize("depth", [3, 4, 7])
def test_energy_matches_reference_and_maps_are_its_stationarity_conditions(
    kind, depth, getkey
):
    sizes = DEPTHS[depth]
    model = make_model(kind, sizes, getkey(), skips=SKIPS[depth])
    x = random_input(getkey(), sizes[0])
    states = random_states(getkey(), sizes)
    ref = DenseReference(model)
    np.testing.assert_allclose(
        hj.energy(model, x, states), ref.energy(np.asarray(x), as_numpy(states)), rtol=1e-12
    )
    grads = jax.grad(lambda s: hj.energy(model, x, s))(states)
    drive = hj.input_drive(model, x)
    acts = tuple(model.activation(s) for s in states)
    fields = hj.layer_fields(model, drive, acts, range(1, depth))
    for j, (g, s) in enumerate(zip(grads, states), start=1):
        rp = model.activation.derivative(s)
        expected = rp * (s - fields[j]) if kind == "ham" else s - rp * fields[j]
        np.testing.assert_allclose(g, expected, rtol=1e-10, atol=1e-12)


def test_shifted_sigmoid_lagrangian_and_derivative():
    act = hj.ShiftedSigmoid()
    s = jnp.linspace(-3.0, 3.0, 41)
    np.testing.assert_allclose(act(s), 1 / (1 + np.exp(-4 * (np.asarray(s) - 0.5))), rtol=1e-12)
    np.testing.assert_allclose(jax.vmap(jax.grad(act.lagrangian))(s), act(s), rtol=1e-12)
    np.testing.assert_allclose(jax.vmap(jax.grad(act))(s), act.derivative(s), rtol=1e-12)
    assert float(act(0.5)) == 0.5 and float(act.derivative(0.5)) == 1.0


def test_initialisation_follows_the_papers(getkey):
    model = hj.HAM((784, 500, 300, 10), key=getkey(), dtype=jnp.float32)
    assert [w.shape for w in model.weights] == [(784, 500), (500, 300), (300, 10)]
    assert [b.shape for b in model.biases] == [(500,), (300,), (10,)]
    for w in model.weights:
        bound = np.sqrt(6 / sum(w.shape))
        assert float(jnp.max(jnp.abs(w))) <= bound
        assert float(jnp.max(jnp.abs(w))) > 0.95 * bound  # uniform, not normal
        np.testing.assert_allclose(float(jnp.std(w)), bound / np.sqrt(3), rtol=0.05)
    biases = jnp.concatenate(model.biases)
    np.testing.assert_allclose(float(jnp.std(biases)), 0.01, rtol=0.1)
    assert all(w.dtype == jnp.float32 for w in model.weights)
