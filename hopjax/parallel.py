"""Data parallelism over every visible device: a one-axis device mesh, the batch split
along it, the model replicated, and `shard_map` running the work on each device's share.
Each device runs its own per-sample solve loop (it stops when *its* samples converge;
no communication inside the loop); a mean loss's gradients and metrics are averaged
with one `pmean` per step. Results equal a single-device run up to float reassociation.

Several hosts: call `jax.distributed.initialize()` first on every host; `jax.devices()`
then lists every host's devices and the same code runs unchanged.
"""

import jax
import numpy as np
from jax.sharding import Mesh, NamedSharding, PartitionSpec
from jaxtyping import PyTree

from ._checks import check_flag


__all__ = ["data_parallel", "data_parallel_mesh", "shard_batch"]


def data_parallel_mesh(devices=None) -> Mesh:
    """A one-axis mesh named `"batch"` over `devices`.

    **Arguments:**

    - `devices`: the devices to use (default: `jax.devices()`, every device of every
        host).

    **Returns:** a `jax.sharding.Mesh` with the single axis `"batch"`.
    """
    given = devices
    devices = jax.devices() if devices is None else list(devices)
    if isinstance(given, str) or not all(isinstance(d, jax.Device) for d in devices):
        raise TypeError(
            f"data_parallel_mesh needs JAX devices (e.g. jax.devices()), got {given!r}."
        )
    if not devices:
        raise ValueError("data_parallel_mesh needs at least one device, got none.")
    return Mesh(np.asarray(devices), ("batch",))


def _check_mesh(name: str, mesh) -> None:
    if not isinstance(mesh, Mesh) or mesh.axis_names != ("batch",):
        raise TypeError(
            f"{name} needs a one-axis mesh named 'batch' "
            f"(hopjax.parallel.data_parallel_mesh()), got {mesh!r}."
        )


def shard_batch(tree: PyTree, mesh: Mesh) -> PyTree:
    """Place every array of `tree` with its leading (batch) axis split across `mesh`.

    **Arguments:**

    - `tree`: a pytree of arrays sharing a leading batch axis, e.g. `(x, labels)`.
    - `mesh`: a mesh from [`hopjax.parallel.data_parallel_mesh`][].

    **Returns:** the same pytree, each array sharded along `"batch"` (device `k` holds
    the `k`-th contiguous block of samples).

    **Raises:** `ValueError` if a batch size is not a multiple of the number of devices,
    or for a scalar (it has no batch axis to split).
    """
    _check_mesh("shard_batch", mesh)
    size = mesh.devices.size

    def place(x):
        shape = np.shape(x)
        if not shape:
            raise ValueError(
                "shard_batch needs arrays with a leading batch axis, got a scalar "
                f"({x!r}); leave scalars out of the tree (they need no sharding)."
            )
        if shape[0] % size:
            raise ValueError(
                f"A batch of {shape[0]} cannot be split evenly over {size} devices; "
                f"use a batch size that is a multiple of {size}."
            )
        return jax.device_put(x, NamedSharding(mesh, PartitionSpec("batch")))

    return jax.tree.map(place, tree)


def _shard_map(fn, mesh, in_specs, out_specs):
    # Per-device values are not tracked as "varying" (check_vma / check_rep off): the
    # runtime checks inside `solve` (equinox.error_if) are not written for it.
    if hasattr(jax, "shard_map"):
        return jax.shard_map(
            fn, mesh=mesh, in_specs=in_specs, out_specs=out_specs, check_vma=False
        )
    from jax.experimental.shard_map import shard_map  # older JAX

    return shard_map(fn, mesh=mesh, in_specs=in_specs, out_specs=out_specs, check_rep=False)


def data_parallel(fn, mesh: Mesh, *, average: bool):
    """Run `fn(model, *batch)` on every device of `mesh`, each on its share of the batch
    arrays (split along their leading axis), with `model` replicated.

    - `average=False`: the outputs are per sample (batch-leading) and come back sharded
      like the input, e.g. `data_parallel(lambda m, x: hj.solve(m, x), mesh, average=False)`.
      Each device runs its own solve loop, so it stops when *its* samples converge.
    - `average=True`: the outputs (e.g. gradients and metrics of a mean loss) are
      averaged over devices with `jax.lax.pmean`, which equals the full-batch value when
      every device holds the same number of samples.

    Use it inside `jax.jit` / `equinox.filter_jit`.

    **Arguments:**

    - `fn`: a function `fn(model, *batch)`; `model` is any pytree (its arrays are
        replicated, its non-array parts static), `batch` are arrays with a leading batch
        axis.
    - `mesh`: a mesh from [`hopjax.parallel.data_parallel_mesh`][].
    - `average`: average the outputs over devices (`True`) or keep them per sample
        (`False`).

    **Returns:** a function with the signature of `fn`, running `jax.shard_map` over
    `mesh`.
    """
    import equinox as eqx

    if not callable(fn):
        raise TypeError(f"data_parallel needs a function fn(model, *batch), got {fn!r}.")
    _check_mesh("data_parallel", mesh)
    check_flag("data_parallel: average", average)

    def wrapped(model, *batch):
        params, static = eqx.partition(model, eqx.is_array)

        def local(params, *batch):
            out = fn(eqx.combine(params, static), *batch)
            return jax.lax.pmean(out, "batch") if average else out

        spec = PartitionSpec("batch")
        out_spec = PartitionSpec() if average else spec
        return _shard_map(local, mesh, (PartitionSpec(),) + (spec,) * len(batch), out_spec)(
            params, *batch
        )

    return wrapped
