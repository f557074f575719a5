import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
import pytest

import hopjax as hj
from hopjax.train import epoch_linear_decay, madam, make_train_step


def _blobs(key, n, width=32, classes=4):
    k1, k2, k3 = jax.random.split(key, 3)
    prototypes = jax.random.uniform(k1, (classes, width))
    labels = jax.random.randint(k2, (n,), 0, classes)
    x = jnp.clip(prototypes[labels] + 0.15 * jax.random.normal(k3, (n, width)), 0, 1)
    return x.astype(jnp.float32), labels


def test_tiny_training_run_learns(getkey):
    model = hj.HAM((32, 40, 4), key=getkey(), dtype=jnp.float32)
    x, y = _blobs(getkey(), 512)
    opt = madam(epoch_linear_decay(0.05, steps_per_epoch=8, epochs=6))
    opt_state = opt.init(eqx.filter(model, eqx.is_inexact_array))
    step = make_train_step(
        opt, update="even_odd", solver=hj.Anderson(), max_steps=40,
        backward=hj.RecurrentBackprop(steps=8),
    )
    losses, accs = [], []
    for epoch in range(6):
        perm = np.random.default_rng(epoch).permutation(512)
        for b in range(8):
            idx = perm[b * 64 : (b + 1) * 64]
            model, opt_state, m = step(model, opt_state, x[idx], y[idx])
            losses.append(float(m["loss"]))
            accs.append(float(m["accuracy"]))
    assert np.mean(losses[-8:]) < 0.5 * np.mean(losses[:8])
    assert np.mean(accs[-8:]) > 0.6  # chance is 0.25


@pytest.mark.parametrize("name,change", [
    ("labels (B, 1)", lambda x, y: (x, y[:, None])),  # would broadcast to a (B, B, C) loss
    ("one-hot labels", lambda x, y: (x, jax.nn.one_hot(y, 4))),
    ("float labels", lambda x, y: (x, y.astype(jnp.float32))),
    ("one label", lambda x, y: (x, y[0])),
    ("fewer labels", lambda x, y: (x, y[:3])),
    ("unbatched x", lambda x, y: (x[0], y[:1])),
])
def test_step_refuses_labels_that_would_broadcast_to_a_wrong_loss(getkey, name, change):
    model = hj.HAM((32, 16, 4), key=getkey())
    x, labels = change(*_blobs(getkey(), 8))
    optimiser = madam(0.01)
    step = make_train_step(optimiser, max_steps=20)
    opt_state = optimiser.init(eqx.filter(model, eqx.is_inexact_array))
    with pytest.raises(ValueError, match=r"needs a batch x of shape \(B, d_0\) and labels of shape \(B,\)"):
        step(model, opt_state, x, labels)


def test_step_leaves_the_model_and_the_batch_usable(getkey):
    # Donating x once let XLA reuse its buffer (here for a (8, 6) weight of the same
    # size), deleting the caller's batch; only the optimiser state may be donated.
    model = hj.HAM((12, 8, 6, 5), key=getkey(), dtype=jnp.float32)
    x, labels = _blobs(getkey(), 4, width=12)
    optimiser = madam(0.01)
    step = make_train_step(optimiser, max_steps=20)
    opt_state = optimiser.init(eqx.filter(model, eqx.is_inexact_array))
    trained, opt_state, _ = step(model, opt_state, x, labels)
    for array in (x, labels, *jax.tree.leaves(eqx.filter(model, eqx.is_array))):
        assert not array.is_deleted()
    trained, opt_state, _ = step(trained, opt_state, x, labels)  # the same batch again
    assert np.isfinite(float(hj.solve(model, x).output.sum()))


def test_make_train_step_refuses_what_would_fail_at_the_first_step():
    with pytest.raises(TypeError, match="needs an optax.GradientTransformation .* got NoneType"):
        make_train_step(None)
    with pytest.raises(TypeError, match=r"\['updat'\] are not options of hopjax.solve"):
        make_train_step(madam(0.01), updat="even_odd")  # a typo, found only when traced
