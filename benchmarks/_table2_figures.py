"""Table 2's figures: the papers' Figs. 3-4 (density heatmaps of per-sample residual
trajectories) and the learning curves of every run, a row of panels per network."""

import numpy as np

import hopjax as hj
import hopjax.plot

from _options import beside, replacing
from _table2_rows import label, ROWS, VARIANTS


def _pyplot():
    """matplotlib's pyplot on the file-only Agg backend (imported only when drawing)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def _save(plt, fig, path):
    """Save `fig` as the PNG `path`, replaced whole (Ctrl-C while it is drawn leaves the
    previous file, or none), and close it; returns `path`."""
    with replacing(path) as scratch:
        fig.savefig(scratch, dpi=110)
    plt.close(fig)
    return path


def figures(traces, out):
    """The papers' Figs. 3-4 as `<out>-fig3.png` (3-layer CHN and HAM) and
    `<out>-fig4.png` (5- and 7-layer HAM): a `hopjax.plot.residual_heatmap` per network x
    variant in `traces`; returns the paths written."""
    plt = _pyplot()
    written = []
    for name, rows in (("fig3", ["chn3", "ham3"]), ("fig4", ["ham5", "ham7"])):
        rows = [r for r in rows if any(k[0] == r for k in traces)]
        if not rows:
            continue
        variants = [v for v in VARIANTS if any((r, v) in traces for r in rows)]
        fig, axes = plt.subplots(len(rows), len(variants), figsize=(3.2 * len(variants), 2.8 * len(rows)),
                                 squeeze=False, constrained_layout=True)
        for i, row in enumerate(rows):
            for j, variant in enumerate(variants):
                ax = axes[i, j]
                if (row, variant) not in traces:
                    ax.set_axis_off()
                    continue
                title = f"{label(row, variant)} ({row[-1]} layers)"
                hj.plot.residual_heatmap(ax, traces[(row, variant)], title=title)
        written.append(_save(plt, fig, beside(out, f"-{name}.png")))
    return written


def gradient(run) -> str:
    """How a run's training gradient was taken: its backward mode, and its steps K where
    they were set (e.g. "rbp-unrolled, K=12")."""
    config = run["config"]
    steps = config.get("backward_steps")
    return config["backward"] + ("" if steps is None else f", K={steps}")


def curve_groups(runs):
    """The runs drawn in one colour: same network, variant and gradient, as a list of
    (legend name, runs); the gradient is named only where the runs differ in it."""
    name_gradient = len({gradient(r) for r in runs}) > 1
    keys = list(dict.fromkeys((r["row"], r["variant"], gradient(r)) for r in runs))
    return [
        (f"{label(row, variant)} ({row[-1]}L)" + (f", {grad}" if name_gradient else ""),
         [r for r in runs if (r["row"], r["variant"], gradient(r)) == (row, variant, grad)])
        for row, variant, grad in keys
    ]


#: The learning curves' line styles, one per gradient within a network.
LINE_STYLES = ("-", "--", ":", "-.")


def curve_panels(runs):
    """The learning-curve figure's layout: one row of panels per network, in Table 2's
    order, holding that network's `curve_groups` groups, each with its line options. The
    colour names the variant (the same in every row); the line style the gradient, where
    a network's runs were trained with more than one."""
    groups = curve_groups(runs)
    panels = []
    for row in ROWS:
        here = [(name, group) for name, group in groups if group[0]["row"] == row]
        gradients = list(dict.fromkeys(gradient(group[0]) for _, group in here))
        lines = [(name, group, {
            "color": f"C{list(VARIANTS).index(group[0]['variant'])}",
            "linestyle": LINE_STYLES[gradients.index(gradient(group[0])) % len(LINE_STYLES)],
        }) for name, group in here]
        if lines:
            panels.append((row, lines))
    return panels


def seed_mean(group):
    r"""The per-epoch mean over a group's seeds of each learning curve: a `by_epoch` dict
    $\bar c_e = \frac1S \sum_s c^{(s)}_e$, over the epochs that every seed has."""
    histories = [run["by_epoch"] for run in group]
    keys = [key for key in histories[0] if all(key in h for h in histories)]
    epochs = min(len(h[key]) for h in histories for key in keys)
    return {key: np.mean([h[key][:epochs] for h in histories], axis=0).tolist() for key in keys}


def curves_figure(runs, path):
    """Every run's learning curves (`hopjax.plot.learning_curves`) as laid out by
    `curve_panels`: a row of panels per network, a group's seeds in the same colour. A
    group of several seeds is drawn as their `seed_mean` in a bold line over each seed's
    own curves in thin faint lines."""
    plt = _pyplot()
    panels = curve_panels(runs)
    fig, axes = plt.subplots(len(panels), 3, figsize=(15, 3.2 * len(panels)),
                             constrained_layout=True, squeeze=False)
    for row_axes, (row, lines) in zip(axes, panels):
        for name, group, options in lines:
            seeds = ", ".join(str(r["seed"]) for r in group)
            if len(group) == 1:
                hj.plot.learning_curves(row_axes, group[0]["by_epoch"], alpha=0.85, **options,
                                        label=f"{name}, seed {seeds}")
                continue
            for run in group:
                hj.plot.learning_curves(row_axes, run["by_epoch"], alpha=0.3, linewidth=0.8,
                                        markersize=0, **options)
            hj.plot.learning_curves(row_axes, seed_mean(group), linewidth=2, **options,
                                    label=f"{name}, mean of seeds {seeds}")
        row_axes[1].set_title(f"{ROWS[row][0].upper()}, {row[-1]} layers")
        row_axes[2].legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.02, 1))  # beside
    return _save(plt, fig, path)
