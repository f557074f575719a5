"""Test-set evaluation: accuracy and per-sample iterations to convergence."""

import time
from collections.abc import Mapping
from typing import Any

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
from jaxtyping import ArrayLike, Float, Int
from tqdm.auto import tqdm

import hopjax as hj

from .._checks import check_flag, check_model, check_positive_int
from ..data import check_split


@eqx.filter_jit
def _solve_batch(model, x, labels, options):
    eq = hj.solve(model, x, **options)
    correct = jnp.argmax(eq.output, axis=-1) == labels
    return correct, eq.paper_iterations, eq.num_steps, eq.converged, eq.trace


def check_labels_fit(units: int, *labels: np.ndarray) -> None:
    """Raise `ValueError` unless every label indexes one of the output layer's `units`
    (one unit per class)."""
    lowest = min(int(y.min()) for y in labels if y.size)
    highest = max(int(y.max()) for y in labels if y.size)
    if lowest < 0 or highest >= units:
        raise ValueError(
            f"The labels run from {lowest} to {highest}, but the output layer "
            f"(layer_sizes[-1]) has {units} units, one per class."
        )


def _summary(values: np.ndarray) -> dict[str, float]:
    return {
        "mean": float(np.mean(values)),
        "std": float(np.std(values)),
        "median": float(np.median(values)),
        "max": float(np.max(values)),
    }


def evaluate(
    model: hj.AbstractHopfieldNetwork,
    images: Float[ArrayLike, "n d0"],
    labels: Int[ArrayLike, " n"],
    solve_options: dict[str, Any],
    *,
    batch_size: int = 500,
    trace: bool = False,
    progress: bool = False,
) -> dict[str, Any]:
    r"""Solve every image (forward only) and report:

    - `accuracy`: fraction with $\arg\max s_L$ equal to the label;
    - `paper_iterations`, `steps`: mean/std/median/max per sample of the papers'
      Table-2 count and of hopjax's early-stop count (see [`hopjax.Equilibrium`][]);
    - `not_converged`: fraction of samples whose solve did not converge;
    - `wall_time_s`: time of the solves after one compiling warm-up batch;
    - `per_sample`: the arrays behind those numbers (and `trace` if asked for).

    The last batch is padded to `batch_size` (and the padding dropped) so one compiled
    solve serves every batch.

    **Arguments:**

    - `model`: a trained [`hopjax.HAM`][] or [`hopjax.CHN`][].
    - `images`: `(n, d_0)` inputs (NumPy or JAX arrays).
    - `labels`: `(n,)` integer classes.
    - `solve_options`: keyword arguments for [`hopjax.solve`][], e.g.
        [`hopjax.train.TrainConfig`][]`.solve_options(backward=False)`.
    - `batch_size`: images per compiled solve (default 500).
    - `trace`: also record every sample's relative change per step
        (`per_sample["trace"]`, for [`hopjax.plot.residual_heatmap`][]).
    - `progress`: show a progress bar.

    **Returns:** a dict with `samples`, `accuracy`, `paper_iterations`, `steps`,
    `not_converged`, `wall_time_s` and `per_sample`, as above.

    **Raises:** `ValueError` / `TypeError` naming the problem for images or labels that
    [`hopjax.data.check_split`][] refuses, for labels outside the output layer's
    units, for `solve_options` that is not a dict or holds `trace`, and for flags that
    are not `True` / `False`.
    """
    check_model("evaluate", model)
    check_flag("evaluate: trace", trace)
    check_flag("evaluate: progress", progress)
    if not isinstance(solve_options, Mapping):
        raise TypeError(
            "evaluate: solve_options must be a dict of keyword arguments for hopjax.solve "
            f"(e.g. TrainConfig().solve_options(backward=False)), got {type(solve_options).__name__}."
        )
    if "trace" in solve_options:
        raise ValueError(
            "evaluate: give trace to evaluate (evaluate(..., trace=True)), not in "
            "solve_options: evaluate decides whether per_sample holds the trace."
        )
    images, labels = check_split("evaluate", images, labels)
    check_labels_fit(model.layer_sizes[-1], labels)
    batch_size = check_positive_int("evaluate: batch_size", batch_size)
    n = len(images)
    options = {**solve_options, "trace": trace}
    batch_size = min(batch_size, n)
    padded = -n % batch_size
    index = np.concatenate([np.arange(n), np.zeros(padded, int)])
    x = jnp.asarray(images)[index].reshape(-1, batch_size, images.shape[-1])
    y = jnp.asarray(labels)[index].reshape(-1, batch_size)
    jax.block_until_ready(_solve_batch(model, x[0], y[0], options))  # compile
    start = time.perf_counter()
    outputs = [
        _solve_batch(model, xb, yb, options)
        for xb, yb in tqdm(zip(x, y), total=len(x), desc="evaluate", leave=False, disable=not progress)
    ]
    jax.block_until_ready(outputs)
    wall = time.perf_counter() - start
    columns = [np.concatenate([np.asarray(o[k]) for o in outputs])[:n] for k in range(4)]
    correct, paper, steps, converged = columns
    per_sample = {"correct": correct, "paper_iterations": paper, "steps": steps, "converged": converged}
    if trace:
        per_sample["trace"] = np.concatenate([np.asarray(o[4]) for o in outputs])[:n]
    return {
        "samples": n,
        "accuracy": float(np.mean(correct)),
        "paper_iterations": _summary(paper),
        "steps": _summary(steps),
        "not_converged": float(1 - np.mean(converged)),
        "wall_time_s": wall,
        "per_sample": per_sample,
    }
