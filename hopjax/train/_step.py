"""The papers' loss and one jit-compiled training step (forward solve, implicit
backward, optimiser update)."""

import inspect
from typing import Any

import equinox as eqx
import jax
import jax.numpy as jnp
import optax
from jaxtyping import Array, Float, Int

import hopjax as hj
from hopjax.parallel import data_parallel


def loss_and_accuracy(
    model: hj.AbstractHopfieldNetwork,
    x: Float[Array, "batch d0"],
    labels: Int[Array, " batch"],
    solve_options: dict[str, Any],
):
    r"""The papers' loss $\tfrac12 \sum (s_L - \text{onehot}(y))^2 / B$ on the output
    layer's *state* $s_L$, and the accuracy of $\arg\max s_L$.

    **Arguments:**

    - `model`: a [`hopjax.HAM`][] or [`hopjax.CHN`][].
    - `x`: a batch of inputs, `(B, d_0)`.
    - `labels`: their integer classes, `(B,)` (checked when traced: other shapes or a
        floating dtype raise `ValueError`, as they would broadcast to a wrong loss).
    - `solve_options`: keyword arguments for [`hopjax.solve`][].

    **Returns:** `(loss, (accuracy, equilibrium))`, so that
    `equinox.filter_value_and_grad(..., has_aux=True)` differentiates the loss (through
    the implicit gradient of the solve).
    """
    x, labels = jnp.asarray(x), jnp.asarray(labels)
    if x.ndim != 2 or labels.shape != x.shape[:1] or not jnp.issubdtype(labels.dtype, jnp.integer):
        raise ValueError(
            "loss_and_accuracy needs a batch x of shape (B, d_0) and labels of shape (B,), "
            f"integer class indices (not one-hot); got x {x.shape} and labels "
            f"{labels.shape} of dtype {labels.dtype}."
        )
    eq = hj.solve(model, x, **solve_options)
    target = jax.nn.one_hot(labels, eq.output.shape[-1], dtype=eq.output.dtype)
    loss = 0.5 * jnp.sum((eq.output - target) ** 2) / x.shape[0]
    accuracy = jnp.mean(jnp.argmax(eq.output, axis=-1) == labels)
    return loss, (accuracy, eq)


def make_train_step(optimiser: optax.GradientTransformation, *, mesh=None, **solve_options):
    """One compiled training step `step(model, opt_state, x, labels) -> (model,
    opt_state, metrics)`; `solve_options` go to [`hopjax.solve`][] (update, solver,
    rtol, max_steps, backward, ...). Metrics: loss, accuracy, mean steps (hopjax's
    early-stop count), mean papers' iterations, converged fraction.

    With a `mesh` ([`hopjax.parallel.data_parallel_mesh`][]) the batch is split over its
    devices: each computes the gradient of its share and the gradients and metrics are
    averaged (`pmean`), which equals the single-device step when the batch divides evenly.

    **Arguments:**

    - `optimiser`: an optax transformation that takes `params` in `update`, e.g.
        [`hopjax.train.madam`][].
    - `mesh`: a one-axis device mesh for data parallelism, or `None` (one device).
    - `**solve_options`: keyword arguments for [`hopjax.solve`][], e.g.
        [`hopjax.train.TrainConfig`][]`.solve_options()`.

    **Returns:** the step function, compiled with `equinox.filter_jit`. It donates
    `opt_state` (the new state takes its buffers): do not reuse the one passed in. The
    model, `x` and `labels` stay valid.
    """

    if not (callable(getattr(optimiser, "init", None)) and callable(getattr(optimiser, "update", None))):
        raise TypeError(
            "make_train_step needs an optax.GradientTransformation (e.g. "
            f"hopjax.train.madam(0.01)), got {type(optimiser).__name__}."
        )
    known = set(inspect.signature(hj.solve).parameters) - {"model", "x"}
    unknown = sorted(set(solve_options) - known)
    if unknown:
        raise TypeError(
            f"make_train_step: {unknown} are not options of hopjax.solve (it takes "
            f"{sorted(known)})."
        )

    def gradients_and_metrics(model, x, labels):
        grad_fn = eqx.filter_value_and_grad(loss_and_accuracy, has_aux=True)
        (loss, (accuracy, eq)), grads = grad_fn(model, x, labels, solve_options)
        metrics = {
            "loss": loss,
            "accuracy": accuracy,
            "steps": jnp.mean(eq.num_steps),
            "paper_iterations": jnp.mean(eq.paper_iterations),
            "converged": jnp.mean(eq.converged),
        }
        return grads, metrics

    if mesh is not None:
        gradients_and_metrics = data_parallel(gradients_and_metrics, mesh, average=True)

    # Only the optimiser state is donated (it is replaced by one of the same shapes);
    # equinox donates every argument but the first, so the rest travel in the first.
    @eqx.filter_jit(donate="all-except-first")
    def compiled_step(kept, opt_state):
        model, x, labels = kept
        grads, metrics = gradients_and_metrics(model, x, labels)
        params = eqx.filter(model, eqx.is_inexact_array)
        updates, opt_state = optimiser.update(grads, opt_state, params)
        model = eqx.apply_updates(model, updates)
        return model, opt_state, metrics

    def step(model, opt_state, x, labels):
        return compiled_step((model, x, labels), opt_state)

    return step
