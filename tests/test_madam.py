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
    # a NaN, infinite, zero or negative rate used to give NaN or unmoved / ascending weights
    for rate in (float("nan"), float("inf"), 0.0, -0.01):
        with pytest.raises(ValueError, match=f"learning_rate must be a positive finite number .*got {rate}"):
            madam(rate)
    # a string or None rate was taken, and failed at the first update
    for rate in ("0.01", None, True):
        with pytest.raises(ValueError, match=f"learning_rate must be a positive finite number .*got {rate!r}"):
            madam(rate)
    with pytest.raises(ValueError, match="got p_scale='1024', g_bound=3.0, beta=0.999"):
        madam(0.01, p_scale="1024")
    with pytest.raises(ValueError, match="beta=None"):
        madam(0.01, beta=None)
    assert madam(np.float32(0.01)) is not None and madam(lambda count: 0.01) is not None
    # a non-function reference_rms failed at init ("'int' object is not callable"); one
    # returning a single number for every tensor was taken as every tensor's bound
    with pytest.raises(TypeError, match="reference_rms must be a function params -> RMS per tensor"):
        madam(0.01, reference_rms=3)
    params = {"a": jnp.ones(2), "b": jnp.ones(3)}
    with pytest.raises(ValueError, match="reference_rms must return one RMS per parameter tensor"):
        madam(0.01, reference_rms=lambda p: 1.0).init(params)
    assert madam(0.01, reference_rms=lambda p: {"a": 1.0, "b": 2.0}).init(params) is not None


@pytest.mark.parametrize("arguments, message", [
    ((float("nan"), 10, 10), "positive finite initial rate .* got initial=nan"),
    ((0.01, 10, 10, float("nan")), "final_factor >= 0, got initial=0.01, final_factor=nan"),
    ((0.01, 10, 10, -1.0), "final_factor=-1.0"),
    ((0.01, 2.5, 10), "steps_per_epoch must be a positive integer, got 2.5"),
    ((0.01, 10, 0), "epochs must be a positive integer, got 0"),
    (("0.01", 10, 10), "positive finite initial rate .* got initial='0.01'"),
    ((0.01, 10, 10, None), "final_factor=None"),
])
def test_bad_schedule_arguments(arguments, message):
    with pytest.raises(ValueError, match=message):
        epoch_linear_decay(*arguments)


def _dense_one_matrix(weights, sizes):
    """The papers' OneMatrix W (N x N): block (h_i, h_{i+1}) = W_i and its transpose."""
    offsets = np.concatenate([[0], np.cumsum(sizes)])
    dense = np.zeros((offsets[-1], offsets[-1]))
    for i, w in enumerate(weights):  # w connects state layers i+1 and i+2 (1-based)
        a, b = offsets[i], offsets[i + 1]
        dense[a : a + w.shape[0], b : b + w.shape[1]] = w
        dense[b : b + w.shape[1], a : a + w.shape[0]] = w.T
    return dense


def _dense_even_odd(weights, sizes):
    """The papers' EvenOdd staircase W (N_even x N_odd), each W_i once."""
    odd, even = sizes[0::2], sizes[1::2]
    row = np.concatenate([[0], np.cumsum(even)])
    col = np.concatenate([[0], np.cumsum(odd)])
    dense = np.zeros((row[-1], col[-1]))
    for i, w in enumerate(weights):  # layer i+1 to i+2, 1-based; odd layers are 1, 3, ...
        if i % 2 == 0:  # odd -> even: block (h_{i+2}, h_{i+1}) = W^T
            r, c = row[i // 2], col[i // 2]
            dense[r : r + w.shape[1], c : c + w.shape[0]] = w.T
        else:  # even -> odd: block (h_{i+1}, h_{i+2}) = W
            r, c = row[i // 2], col[i // 2 + 1]
            dense[r : r + w.shape[0], c : c + w.shape[1]] = w
    return dense


def _rms(a):
    return float(np.sqrt(np.mean(np.square(a))))


@pytest.mark.parametrize("layers", [3, 5, 7])
def test_madam_bounds_follow_the_papers_storage(layers):
    """The bound of each tensor is p_scale x the RMS of the tensor the papers' code
    stores: the zero-padded OneMatrix / EvenOdd matrix and the pooled biases."""
    import jax

    import hopjax as hj
    from hopjax.train import PAPER_LAYERS, papers_reference_rms

    sizes = PAPER_LAYERS[layers]
    model = hj.HAM(sizes, key=jax.random.key(layers))
    w = [np.asarray(m, np.float64) for m in model.weights[1:]]
    b = [np.asarray(v, np.float64) for v in model.biases]
    states = list(sizes[1:])
    expected = {
        "synchronous": (_rms(_dense_one_matrix(w, states)), [_rms(np.concatenate(b))] * len(b)),
        "even_odd": (
            _rms(_dense_even_odd(w, states)),
            [_rms(np.concatenate(b[i % 2 :: 2])) for i in range(len(b))],
        ),
    }
    for update, (w_rms, b_rms) in expected.items():
        got = papers_reference_rms(update)(model)
        np.testing.assert_allclose(got.weights[0], _rms(model.weights[0]), rtol=1e-5)
        np.testing.assert_allclose([float(r) for r in got.weights[1:]], w_rms, rtol=1e-5)
        np.testing.assert_allclose([float(r) for r in got.biases], b_rms, rtol=1e-5)
    if layers == 3:  # the spec's numbers: sync W bound ~3.2, even-odd ~32
        bound = 1024 * np.array([float(expected[u][0]) for u in ("synchronous", "even_odd")])
        assert 2.9 < bound[0] < 3.5 and 29 < bound[1] < 35


def test_train_config_bounds_a_synchronous_model_tighter():
    from hopjax.train import TrainConfig

    bounds = {}
    for update in ("synchronous", "even_odd"):
        config = TrainConfig(model="chn", update=update, seed=0)
        model, _, state, _ = config.initial_state(steps_per_epoch=10)
        bounds[update] = float(state.max_magnitude.weights[1])
        own = 1024 * _rms(np.asarray(model.weights[1]))
        if update == "even_odd":  # the 1990 x 10 matrix fills the EvenOdd W
            assert bounds[update] == pytest.approx(own, rel=1e-5)
    assert bounds["synchronous"] < bounds["even_odd"] / 8


def test_papers_reference_rms_rejects_unknown_update():
    from hopjax.train import papers_reference_rms

    with pytest.raises(ValueError, match="update"):
        papers_reference_rms("async")
