import jax.numpy as jnp
import numpy as np
import optax
import pytest

from hopjax.train import epoch_linear_decay, madam


def _reference_madam(p, grads, lr, p_scale=1024.0, g_bound=3.0):
    """Hand-written NumPy version of hopdeq/madam.py."""
    p = np.array(p, np.float64)
    p_max = p_scale * np.sqrt(np.mean(p**2))
    v = np.zeros_like(p)
    for t, g in enumerate(grads, start=1):
        v = 0.999 * v + 0.001 * g**2
        with np.errstate(invalid="ignore", divide="ignore"):
            gh = g / np.sqrt(v / (1 - 0.999**t))
        gh = np.clip(np.nan_to_num(gh, nan=0.0), -g_bound, g_bound)
        p = np.clip(p * np.exp(-lr(t - 1) * gh * np.sign(p)), -p_max, p_max)
    return p


def test_madam_matches_the_hand_computed_update():
    rng = np.random.default_rng(0)
    p0 = rng.normal(size=(5, 4))
    p0[0, 0] = 0.0  # zeros stay zero
    grads = [rng.normal(size=(5, 4)) for _ in range(6)]
    grads[2][1, 1] = 0.0
    schedule = epoch_linear_decay(0.01, steps_per_epoch=2, epochs=3)
    opt = madam(schedule)
    params = {"w": jnp.asarray(p0)}
    state = opt.init(params)
    for g in grads:
        updates, state = opt.update({"w": jnp.asarray(g)}, state, params)
        params = optax.apply_updates(params, updates)
    want = _reference_madam(p0, grads, lambda t: float(schedule(t)))
    np.testing.assert_allclose(params["w"], want, rtol=1e-12)
    assert float(params["w"][0, 0]) == 0.0
    assert np.all(np.sign(params["w"]) == np.sign(p0))


def test_first_step_moves_each_weight_by_exp_of_lr_times_gbound():
    """At t = 1, |g_hat| = |g| / |g| = 1 for every nonzero gradient entry."""
    opt = madam(0.01)
    p = jnp.array([1.0, -2.0, 3.0])
    updates, _ = opt.update(jnp.array([5.0, 1e-8, -0.2]), opt.init(p), p)
    # p <- p exp(-lr * sign(g) * sign(p)): |p| shrinks where g and p agree in sign
    want = [np.exp(-0.01), -2 * np.exp(0.01), 3 * np.exp(0.01)]
    np.testing.assert_allclose(p + updates, want, rtol=1e-6)


def test_magnitude_cap_and_composition_with_optax():
    opt = optax.chain(optax.clip(1e9), madam(1.0, p_scale=1.5, g_bound=10.0))
    p = jnp.array([1.0, 1.0])
    state = opt.init(p)
    for _ in range(5):
        updates, state = opt.update(jnp.array([-1.0, 1.0]), state, p)
        p = optax.apply_updates(p, updates)
    assert float(p[0]) == pytest.approx(1.5)  # capped at p_scale * RMS(p0)
    assert 0 < float(p[1]) < 0.01


def test_schedule_is_the_papers_linear_lr():
    s = epoch_linear_decay(0.01, steps_per_epoch=937, epochs=10)
    lrs = [float(s(e * 937 + 5)) for e in range(12)]
    np.testing.assert_allclose(lrs[:10], [0.01 * (1 - 0.1 * e) for e in range(10)], rtol=1e-6)
    assert lrs[10] == lrs[11] == pytest.approx(0.001)


def test_bad_madam_arguments():
    with pytest.raises(ValueError, match="g_bound > 0"):
        madam(0.01, g_bound=0.0)
    with pytest.raises(ValueError, match="pass params"):
        opt = madam(0.01)
        opt.update(jnp.ones(2), opt.init(jnp.ones(2)))
