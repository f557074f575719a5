"""Data parallelism over 8 simulated CPU devices gives the single-device numbers.

XLA's device count is fixed when JAX starts, so the checks run in a fresh interpreter
with `XLA_FLAGS=--xla_force_host_platform_device_count=8`.
"""

import os
import subprocess
import sys
import textwrap


SCRIPT = textwrap.dedent(
    """
    import jax, jax.numpy as jnp, numpy as np, equinox as eqx, pytest
    jax.config.update("jax_enable_x64", True)
    import hopjax as hj
    from hopjax.parallel import data_parallel, data_parallel_mesh, shard_batch
    from hopjax.train import madam, make_train_step

    assert len(jax.devices()) == 8
    mesh = data_parallel_mesh()
    model = hj.HAM((30, 24, 16, 10), key=jax.random.key(0), dtype=jnp.float64)
    x = jax.random.uniform(jax.random.key(1), (64, 30), jnp.float64)
    labels = jax.random.randint(jax.random.key(2), (64,), 0, 10)

    # batched solving: per-sample results equal, output stays split over the devices
    solve = lambda m, x: hj.solve(m, x, update="synchronous", solver=hj.Anderson(), rtol=1e-10)
    one = eqx.filter_jit(solve)(model, x)
    many = eqx.filter_jit(data_parallel(solve, mesh, average=False))(model, shard_batch(x, mesh))
    assert many.output.sharding.spec == jax.sharding.PartitionSpec("batch")
    np.testing.assert_allclose(many.output, one.output, rtol=1e-12, atol=1e-12)
    np.testing.assert_array_equal(many.num_steps, one.num_steps)

    # training: two data-parallel steps equal two single-device steps
    options = dict(update="even_odd", solver=hj.Anderson(), rtol=1e-10, max_steps=100,
                   backward=hj.FixedPointAdjoint(rtol=1e-12))
    results = []
    for mesh_or_none in (None, mesh):
        opt = madam(0.01)
        step = make_train_step(opt, mesh=mesh_or_none, **options)
        m, s = model, opt.init(eqx.filter(model, eqx.is_inexact_array))
        xs, ys = (x, labels) if mesh_or_none is None else shard_batch((x, labels), mesh)
        for _ in range(2):
            m, s, metrics = step(m, s, xs, ys)
        results.append((m, metrics))
    (m1, metrics1), (m8, metrics8) = results
    for a, b in zip(jax.tree.leaves(eqx.filter(m1, eqx.is_array)), jax.tree.leaves(eqx.filter(m8, eqx.is_array))):
        np.testing.assert_allclose(a, b, rtol=1e-9, atol=1e-12)
    for k in metrics1:
        np.testing.assert_allclose(metrics1[k], metrics8[k], rtol=1e-9)
    assert not np.allclose(m1.weights[1], model.weights[1])  # the steps did move the weights

    # an adjoint that does not converge is counted on every device: 64 samples either way
    counts = []
    for mesh_or_none in (None, mesh):
        opt = madam(0.01)
        step = make_train_step(opt, mesh=mesh_or_none, **{**options, "backward": hj.FixedPointAdjoint(max_steps=1)})
        xs, ys = (x, labels) if mesh_or_none is None else shard_batch((x, labels), mesh)
        with pytest.warns(hj.AdjointNonConvergenceWarning), hj.count_adjoint_failures() as count:
            step(model, opt.init(eqx.filter(model, eqx.is_inexact_array)), xs, ys)
        counts.append((count.failed, count.reports))
    assert counts == [(64, 1), (64, 8)], counts

    with pytest.raises(ValueError, match="cannot be split evenly over 8 devices"):
        shard_batch(x[:60], mesh)
    with pytest.raises(ValueError, match=r"needs arrays with a leading batch axis, got a scalar \\(3.0\\)"):
        shard_batch((x, 3.0), mesh)  # was an IndexError from the scalar's empty shape
    with pytest.raises(ValueError, match="needs at least one device, got none"):
        data_parallel_mesh([])
    with pytest.raises(TypeError, match="needs JAX devices .* got 'cpu'"):
        data_parallel_mesh("cpu")  # was a mesh of the characters 'c', 'p', 'u'
    assert data_parallel_mesh(d for d in jax.devices()[:2]).devices.size == 2
    with pytest.raises(TypeError, match="shard_batch needs a one-axis mesh named 'batch'"):
        shard_batch(x, None)
    with pytest.raises(TypeError, match="data_parallel needs a function"):
        data_parallel(None, mesh, average=True)
    with pytest.raises(TypeError, match="average must be True or False, got 'no'"):
        data_parallel(solve, mesh, average="no")
    print("ok")
    """
)


def test_data_parallel_equals_single_device():
    env = dict(os.environ, XLA_FLAGS="--xla_force_host_platform_device_count=8",
               JAX_PLATFORMS="cpu")
    result = subprocess.run([sys.executable, "-c", SCRIPT], capture_output=True, text=True,
                            env=env, timeout=600)
    assert result.returncode == 0 and result.stdout.strip().endswith("ok"), result.stderr[-4000:]
