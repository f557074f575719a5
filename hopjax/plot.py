"""Plots of convergence diagnostics (needs matplotlib, imported on first use)."""

from collections.abc import Sequence

import numpy as np
from jaxtyping import ArrayLike, Float

from ._checks import check_positive_int, is_finite_real


__all__ = ["first_hits", "learning_curves", "residual_heatmap"]


def _need_matplotlib(function: str):
    """Import matplotlib, or say which function needs it and how to install it (a plain
    `pip install hopjax` leaves it out)."""
    try:
        import matplotlib  # noqa: F401
    except ModuleNotFoundError as error:
        raise ModuleNotFoundError(
            f"hopjax.plot.{function} draws with matplotlib, which is not installed: "
            "pip install 'hopjax[plot]' (or pip install matplotlib).", name="matplotlib"
        ) from error


def _as_trace(function: str, trace) -> np.ndarray:
    """`trace` as a float64 `(samples, T - 1)` array; any other shape is an error."""
    if trace is None:
        raise ValueError(
            f"{function}: trace is None; solve with hopjax.solve(..., trace=True) to "
            "record Equilibrium.trace."
        )
    try:
        trace = np.asarray(trace, dtype=np.float64)
    except (TypeError, ValueError):
        raise TypeError(
            f"{function}: trace must be an array of relative residuals, got "
            f"{type(trace).__name__}."
        ) from None
    if trace.ndim != 2 or trace.size == 0:
        raise ValueError(
            f"{function}: trace must be a non-empty (samples, iterations) array of "
            f"relative residuals, got shape {trace.shape}."
        )
    return trace


def first_hits(
    trace: Float[ArrayLike, "samples iterations"],
    criteria: Sequence[float] | Float[ArrayLike, " k"],
) -> Float[np.ndarray, " k"]:
    r"""The papers' iterations-to-convergence for each criterion.

    `trace[b, t]` is sample `b`'s relative residual
    $\lVert F_{t+1} - F_t\rVert / \lVert F_{t+1}\rVert$ at the papers' index `t` (0-based,
    `T - 1` columns for `T` map evaluations). For each criterion `c`, returns the mean
    over samples of the first `t` with `trace[b, t] < c`, counting `T - 1` for a sample
    that never gets there (or gets there at `t = 0`), exactly as the papers' code does.
    For a trace from `solve(..., trace=True, early_stop=False)`, drop the first column
    (`trace[:, 1:]`): the papers' index 0 is hopjax's second map evaluation; then
    `first_hits(trace, [rtol])` equals the mean of
    [`hopjax.Equilibrium`][]`.paper_iterations`.

    **Arguments:**

    - `trace`: `(samples, T - 1)` relative residuals.
    - `criteria`: the thresholds $c$, shape `(k,)`.

    **Returns:** the mean iterations to convergence per criterion, shape `(k,)`.
    """
    trace = _as_trace("first_hits", trace)
    criteria = np.asarray(criteria)
    if criteria.ndim != 1 or not np.issubdtype(criteria.dtype, np.number):
        raise ValueError(
            "first_hits: criteria must be a 1-D array of thresholds, e.g. [1e-4], got "
            f"{criteria!r}."
        )
    if not np.all(np.isfinite(criteria) & (criteria > 0)):
        raise ValueError(
            f"first_hits: criteria must be finite and positive, got {criteria!r}."
        )
    cap = trace.shape[1]
    below = trace[None] < criteria[:, None, None]
    index = np.argmax(below, axis=-1)
    index = np.where(index == 0, cap, index)
    return index.mean(axis=-1)


def residual_heatmap(
    ax,
    trace: Float[ArrayLike, "samples iterations"],
    *,
    rtol: float = 1e-4,
    title: str = "",
    bins: int = 64,
):
    r"""The papers' Figs. 3-4 panel on matplotlib axes `ax`: the density of every
    sample's relative residual (log scale) at every iteration, the `rtol` line (white,
    dashed), the mean iterations to reach each criterion (cyan) and its value at
    `rtol` (white marker). `trace` is as in [`hopjax.plot.first_hits`][].

    **Arguments:**

    - `ax`: a matplotlib `Axes`.
    - `trace`: `(samples, T - 1)` relative residuals, e.g.
        `np.asarray(eq.trace)[:, 1:]`.
    - `rtol`: the tolerance to mark (default 1e-4, the papers').
    - `title`: the panel's title.
    - `bins`: the number of bins of $\log_{10}$ residual between $10^{-9}$ and
        $10^{1}$ (default 64).

    **Returns:** `ax`.
    """
    _need_matplotlib("residual_heatmap")
    from matplotlib.axes import Axes
    from matplotlib.colors import LogNorm

    if not isinstance(ax, Axes):
        raise TypeError(f"residual_heatmap draws on a matplotlib Axes, got {type(ax).__name__}.")
    trace = _as_trace("residual_heatmap", trace)
    if not (is_finite_real(rtol) and 0 < rtol < 1):
        raise ValueError(f"residual_heatmap: rtol must lie in (0, 1), got {rtol!r}.")
    bins = check_positive_int("residual_heatmap: bins", bins)
    samples, length = trace.shape
    log_residual = np.log10(np.clip(trace, 1e-12, None))
    edges = np.linspace(-9, 1, bins + 1)
    density = np.stack(
        [np.histogram(log_residual[:, t], bins=edges)[0] for t in range(length)], axis=1
    ) / samples
    ax.imshow(
        np.where(density > 0, density, np.nan), origin="lower", aspect="auto",
        extent=(-0.5, length - 0.5, edges[0], edges[-1]), cmap="magma",
        norm=LogNorm(vmin=1.0 / samples, vmax=1.0), interpolation="nearest",
    )
    ax.set_facecolor("black")
    ax.axhline(np.log10(rtol), color="white", linestyle="--", linewidth=1)
    criteria = np.logspace(-8, -2, 49)  # above ~1e-2 the papers' count hits its t = 0 quirk
    ax.plot(first_hits(trace, criteria), np.log10(criteria), color="cyan", linewidth=1.5)
    ax.plot(first_hits(trace, [rtol])[0], np.log10(rtol), "o", color="white", markersize=6)
    ax.set_xlim(-0.5, length - 0.5)
    ax.set_ylim(edges[0], edges[-1])
    ax.set_xlabel("iteration")
    ax.set_ylabel("log10 relative residual")
    ax.set_title(title, fontsize=9)
    return ax


# What learning_curves draws: (metric, axis label, scale).
_CURVES = (
    ("test_accuracy", "test accuracy (%)", 100.0),
    ("test_paper_iterations", "iterations to convergence", 1.0),
    ("train_loss", "training loss", 1.0),
)


def learning_curves(axes, history, *, label: str | None = None, **line_options):
    r"""A training run's learning curves, by epoch, on three matplotlib axes: test
    accuracy (%), the papers' mean iterations to convergence on the test set, and the
    mean training loss ($\tfrac12$ MSE). Call it once per run on the same axes to
    compare runs.

    **Arguments:**

    - `axes`: three matplotlib `Axes`, e.g. `plt.subplots(1, 3)[1]`.
    - `history`: the run's epochs: [`hopjax.train.train`][]'s history (a list of
        per-epoch dicts, the lines of a run's `metrics.jsonl`) or the same as a dict of
        per-epoch lists (a `benchmarks/table2.py` run's `by_epoch`).
    - `label`: the legend entry of the run's lines.
    - `line_options`: passed to `Axes.plot` (e.g. `color`, `linestyle`; default markers
        `"o"` of size 3, so that a one-epoch run shows as a dot).

    **Returns:** `axes`.
    """
    _need_matplotlib("learning_curves")
    from matplotlib.axes import Axes
    from matplotlib.ticker import MaxNLocator

    axes = list(axes) if np.iterable(axes) else [axes]
    if len(axes) != len(_CURVES) or not all(isinstance(ax, Axes) for ax in axes):
        raise ValueError(
            f"learning_curves needs {len(_CURVES)} matplotlib Axes (plt.subplots(1, 3)[1]), "
            f"got {axes!r}."
        )
    if not isinstance(history, dict):
        epochs = list(history) if np.iterable(history) else None  # a generator only once
        if epochs is None or not all(isinstance(e, dict) for e in epochs):
            raise TypeError(
                "learning_curves needs the history as a list of per-epoch dicts or a dict "
                f"of per-epoch lists, got {type(history).__name__}."
            )
        history = {key: [epoch[key] for epoch in epochs if key in epoch] for key, _, _ in _CURVES}

    line_options = {"marker": "o", "markersize": 3, **line_options}  # one epoch: a dot
    for ax, (key, ylabel, scale) in zip(axes, _CURVES):
        values = np.asarray(history.get(key, []), dtype=np.float64)
        if values.size == 0:
            raise ValueError(f"learning_curves: the history has no {key!r} values.")
        ax.plot(np.arange(1, values.size + 1), scale * values, label=label, **line_options)
        left, right = ax.get_xlim()  # half an epoch either side, also of a single epoch
        ax.set_xlim(min(left, 0.5), max(right, values.size + 0.5))
        ax.xaxis.set_major_locator(MaxNLocator(integer=True, min_n_ticks=1))  # whole epochs
        ax.set_xlabel("epoch")
        ax.set_ylabel(ylabel)
    return axes
