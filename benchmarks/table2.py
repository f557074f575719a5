"""Reproduce the main paper's Table 2 (and Figs. 3-4): train every network x update
scheme x solver with the papers' recipe, then report iterations to convergence, the
speedup in state updates, test accuracy and wall times, mean (± std) over seeds.

    python benchmarks/table2.py --quick           # < 10 min on a 2-core CPU (bash run.sh benchmark)
    python benchmarks/table2.py                   # every row, 10 epochs, 3 seeds: needs a GPU
    python benchmarks/table2.py --rows ham3 --seeds 0 1 2 3 4
    python benchmarks/table2.py --rows chn3 --papers-epochs   # CHN after 3, CHN-DEQ after 4 epochs

Each (row, variant, seed) trains into --runs-dir/<row>-<variant>-seed<k>/ (a `hopjax
train` run directory: metrics.jsonl + checkpoint.eqx); a finished run is reused and an
unfinished one resumed, so a long reproduction can be split over several calls. A run
taken before --epochs (--papers-epochs) goes to <row>-<variant>-seed<k>-epoch<e>/.
Results: <out>.json, <out>.md, <out>-fig3.png / <out>-fig4.png (density heatmaps of
per-sample relative-residual trajectories, as the papers' Figs. 3-4) and <out>-curves.png
(every run's test accuracy, iterations and loss by epoch; benchmarks/curves.py overlays
several results files).
"""

import argparse
import json
import os
import pathlib
import platform
import tempfile
import time

import jax
import numpy as np
from tqdm.auto import tqdm

import hopjax as hj
import hopjax.plot
from hopjax.data import load_dataset
from hopjax.train import BACKWARDS, evaluate, PAPER_LAYERS, read_header, train, TrainConfig


RESULTS = pathlib.Path(__file__).parent / "results"
ROWS = {
    "ham3": ("ham", PAPER_LAYERS[3]),
    "ham5": ("ham", PAPER_LAYERS[5]),
    "ham7": ("ham", PAPER_LAYERS[7]),
    "chn3": ("chn", PAPER_LAYERS[3]),
}
#: variant -> (update, solver, the papers' suffix: DEQ = Anderson, EO = even-odd)
VARIANTS = {
    "sync-picard": ("synchronous", "picard", ""),
    "sync-anderson": ("synchronous", "anderson", "-DEQ"),
    "eo-picard": ("even_odd", "picard", "-EO"),
    "eo-anderson": ("even_odd", "anderson", "-EO-DEQ"),
}
#: The papers' Table 2 (MNIST, 5 runs): iterations, test accuracy (%).
PAPER_MNIST = {
    ("ham3", "sync-picard"): (11.9, 97.9), ("ham3", "sync-anderson"): (9.9, 97.9),
    ("ham3", "eo-picard"): (8.0, 97.9), ("ham3", "eo-anderson"): (6.6, 97.9),
    ("ham5", "sync-picard"): (36.0, 97.1), ("ham5", "sync-anderson"): (33.0, 97.1),
    ("ham5", "eo-picard"): (18.3, 97.1), ("ham5", "eo-anderson"): (17.7, 97.1),
    ("ham7", "sync-picard"): (67.1, 95.6), ("ham7", "sync-anderson"): (56.0, 95.6),
    ("ham7", "eo-picard"): (32.2, 95.5), ("ham7", "eo-anderson"): (31.0, 95.5),
    ("chn3", "sync-picard"): (39.1, 97.0), ("chn3", "sync-anderson"): (20.6, 97.2),
    ("chn3", "eo-picard"): (16.8, 97.1), ("chn3", "eo-anderson"): (16.2, 97.1),
}
#: The epochs after which the papers took each Table 2 row, out of their 10-epoch
#: schedule (spec §7; 10 where not listed): the synchronous CHN after 3 (its 10-epoch
#: model mostly stops converging: 75.5 iterations, 97.9 %), CHN-DEQ after 4 ("consistently
#: became unstable during 5th epoch").
PAPER_EPOCHS = {("chn3", "sync-picard"): 3, ("chn3", "sync-anderson"): 4}
PAPER_MNIST_CHN_10_EPOCHS = (75.5, 97.9)
#: The papers' code on Fashion-MNIST, 3-layer HAM, 10 epochs (from the issue).
PAPER_CODE_FASHION = {
    ("ham3", "sync-picard"): (9.8, 87.4),
    ("ham3", "eo-picard"): (6.7, 87.3),
    ("ham3", "eo-anderson"): (5.3, 87.3),
}
QUICK = dict(rows=["ham3", "chn3"], seeds=[0], epochs=1, train_examples=12_800,
             test_examples=2_000, trace_samples=500)


def label(row: str, variant: str) -> str:
    """The papers' name of a variant, e.g. HAM-EO-DEQ."""
    return ROWS[row][0].upper() + VARIANTS[variant][2]


def updates_per_iteration(row: str, variant: str) -> int:
    """State updates per iteration, as the paper counts them for its speedup: an
    even-odd CHN iteration is 2 x 10 inner updates; every other iteration is one."""
    return 20 if row.startswith("chn") and variant.startswith("eo") else 1


def taken_at(row: str, variant: str, args) -> int:
    """The epoch after which a variant's model is taken: `--epochs`, or with
    `--papers-epochs` the papers' choice (`PAPER_EPOCHS`) where that is earlier. Either
    way the learning rate follows the `--epochs` schedule, as the papers' early
    checkpoints followed their 10-epoch one."""
    if not args.papers_epochs:
        return args.epochs
    return min(PAPER_EPOCHS.get((row, variant), args.epochs), args.epochs)


def paper_mnist(row: str, variant: str, epochs: int):
    """The papers' Table 2 (iterations, accuracy) for a variant trained `epochs` epochs
    (their total being 10), or None where the papers report no such row."""
    if (row, variant) == ("chn3", "sync-picard") and epochs == 10:
        return PAPER_MNIST_CHN_10_EPOCHS
    return PAPER_MNIST[(row, variant)] if epochs == PAPER_EPOCHS.get((row, variant), 10) else None


EPOCH_KEYS = ("test_accuracy", "test_paper_iterations", "test_not_converged", "train_loss",
              "train_time_s")
"""What each run's record keeps of every epoch, from its metrics.jsonl (the run
directories themselves are not committed)."""


def run_one(row, variant, seed, args, data):
    model_name, layers = ROWS[row]
    update, solver, _ = VARIANTS[variant]
    config = TrainConfig(
        model=model_name, layer_sizes=layers, update=update, solver=solver,
        epochs=args.epochs, seed=seed, dataset=args.dataset, data_dir=args.data_dir,
        train_examples=args.train_examples, test_examples=args.test_examples,
        backward=args.backward, backward_steps=args.backward_steps,
    )
    epochs = taken_at(row, variant, args)
    out = pathlib.Path(args.runs_dir) / (
        f"{row}-{variant}-seed{seed}"
        + ("" if args.backward == TrainConfig.backward and args.backward_steps is None
           else f"-{args.backward}")
        + ("" if args.backward_steps is None else f"-K{args.backward_steps}")
        + ("" if epochs == args.epochs else f"-epoch{epochs}"))
    checkpoint = out / "checkpoint.eqx"
    done = read_header(checkpoint)["epoch"] if checkpoint.exists() else 0
    if done > epochs:
        raise SystemExit(f"{out} has trained {done} epochs, past the {epochs} wanted here.")
    model, history = train(config, out, resume=done > 0, stop_after=epochs - done, data=data,
                           progress=not args.no_progress)
    report = evaluate(model, data.test_images, data.test_labels, config.solve_options(backward=False))
    fixed = dict(config.solve_options(backward=False), early_stop=False)
    figure = evaluate(model, data.test_images[: args.trace_samples],
                      data.test_labels[: args.trace_samples], fixed, trace=True)
    return {
        "row": row, "variant": variant, "seed": seed, "epochs": epochs,
        "test_accuracy": report["accuracy"],
        "first_epoch_test_accuracy": history[0]["test_accuracy"],
        "by_epoch": {key: [h[key] for h in history] for key in EPOCH_KEYS},
        "paper_iterations": report["paper_iterations"]["mean"],
        "steps": report["steps"]["mean"],
        "not_converged": report["not_converged"],
        "train_time_s": float(sum(h["train_time_s"] for h in history)),
        "inference_time_s": report["wall_time_s"],
        "fixed_count_inference_time_s": figure["wall_time_s"] * len(data.test_images) / len(figure["per_sample"]["correct"]),
        "config": config.to_dict(),
    }, figure["per_sample"]["trace"][:, 1:]  # drop step 1 (F_1 vs the zero start): papers' t = 0..T-2


def run_key(run):
    return run["row"], run["variant"], run["seed"]


def results_runs(path, what=""):
    """The run records of a table2.py results file (<out>.json); a missing or foreign file
    is an error that names it (after `what`, e.g. the option that named it)."""
    path = pathlib.Path(path)
    if not path.is_file():
        raise SystemExit(f"{what}{path}: no such results file (table2.py writes <out>.json).")
    record = json.loads(path.read_text())
    if "runs" not in record:
        raise SystemExit(f"{what}{path}: not a table2.py results file (it has no 'runs').")
    return record["runs"]


def included_runs(args):
    """The runs of the `--include` results files (the first of each network x variant x
    seed), checked to be trained as this call's are: same data, epochs, backward and
    its steps."""
    wanted = {"dataset": args.dataset, "backward": args.backward,
              "backward_steps": args.backward_steps, "train_examples": args.train_examples,
              "test_examples": args.test_examples}
    runs = []
    for path in args.include or ():
        for run in results_runs(path, "--include "):
            key = run_key(run)
            differs = {k: run["config"].get(k) for k, v in wanted.items() if run["config"].get(k) != v}
            if differs or run["epochs"] != taken_at(run["row"], run["variant"], args):
                raise SystemExit(f"--include {path}: {key} was trained otherwise "
                                 f"({differs or {'epochs': run['epochs']}}); it cannot share a table with this call's runs.")
            if key not in map(run_key, runs):
                runs.append(run)
    return runs


def table_order(runs):
    """Runs in Table 2's order: network, then variant, then seed."""
    rows, variants = list(ROWS), list(VARIANTS)
    return sorted(runs, key=lambda r: (rows.index(r["row"]), variants.index(r["variant"]), r["seed"]))


def _mean_std(values):
    return float(np.mean(values)), float(np.std(values))


def summarise(group):
    """Mean and std over a group of runs (one network x variant, several seeds) of each
    result, with the seeds and the epochs they were taken at."""
    keys = ("paper_iterations", "steps", "test_accuracy", "first_epoch_test_accuracy",
            "not_converged", "train_time_s", "inference_time_s")
    entry = {k: _mean_std([r[k] for r in group]) for k in keys}
    return {**entry, "seeds": [r["seed"] for r in group], "epochs": group[0]["epochs"]}


def speedup(row, variant, entry, base):
    """The papers' speedup in state updates over `base` (synchronous Picard of the same
    network): base iterations / (iterations x state updates per iteration)."""
    return base["paper_iterations"][0] / (
        entry["paper_iterations"][0] * updates_per_iteration(row, variant))


def aggregate(runs):
    table = {}
    for (row, variant) in dict.fromkeys((r["row"], r["variant"]) for r in runs):
        table[(row, variant)] = summarise(
            [r for r in runs if (r["row"], r["variant"]) == (row, variant)])
    for (row, variant), entry in table.items():
        base = table.get((row, "sync-picard"))
        entry["speedup"] = None if base is None else speedup(row, variant, entry, base)
    return table


def by_seed_markdown(runs) -> list[str]:
    """Each run on its own: a row per network x variant, a column per seed, each cell
    "iterations / test accuracy" and, against synchronous Picard of the same network
    and seed, the speedup in state updates and the accuracy difference in points."""
    seeds = sorted({r["seed"] for r in runs})
    cells = {(r["row"], r["variant"], r["seed"]): r for r in runs}
    lines = [
        "Per seed: iterations (papers' count) / test accuracy; in brackets, against synchronous "
        "Picard of the same network and seed, the speedup in state updates and the accuracy "
        "difference in points.",
        "",
        "| network | " + " | ".join(f"seed {s}" for s in seeds) + " |",
        "|---|" + "---|" * len(seeds),
    ]
    for row, variant in dict.fromkeys((r["row"], r["variant"]) for r in runs):
        row_cells = []
        for seed in seeds:
            run, base = cells.get((row, variant, seed)), cells.get((row, "sync-picard", seed))
            if run is None:
                row_cells.append("-")
                continue
            iterations = run["paper_iterations"]
            cell = f"{iterations:.{2 if iterations < 15 else 1}f} / {100 * run['test_accuracy']:.2f} %"
            if base is not None and variant != "sync-picard":
                ratio = base["paper_iterations"] / (iterations * updates_per_iteration(row, variant))
                cell += f" ({ratio:.2f}x, {100 * (run['test_accuracy'] - base['test_accuracy']):+.2f})"
            row_cells.append(cell)
        epochs = next(r["epochs"] for r in runs if (r["row"], r["variant"]) == (row, variant))
        name = f"{label(row, variant)} ({row[-1]} layers, {epochs} epochs)"
        lines.append(f"| {name} | " + " | ".join(row_cells) + " |")
    return lines


def markdown(table, runs, args, description):
    early = "(synchronous CHNs taken earlier, as the papers did) " if args.papers_epochs else ""
    lines = [
        f"Table 2 reproduction on {description}; {args.epochs} epoch(s) {early}"
        f"trained with --backward {args.backward}"
        + ("" if args.backward_steps is None else f" --backward-steps {args.backward_steps}")
        + ", seeds "
        f"{sorted({s for e in table.values() for s in e['seeds']})}, "
        f"{args.test_examples or 'all'} test images, backend "
        f"{jax.default_backend()} ({platform.processor() or platform.machine()}).",
        "Iterations: the papers' count (0-based index of the first step within rtol 1e-4 of "
        "the previous one; cap - 1 if never); speedup: base iterations / (iterations x state "
        "updates per iteration), base = synchronous Picard of the same network.",
        "",
        "| layers | model | # iters to conv. | speedup | test acc. (%) | 1st-epoch acc. (%) "
        "| hopjax steps | not conv. (%) | train time (s) | inference (s) | paper, MNIST: iters / acc. "
        "| seeds |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for (row, variant), e in table.items():
        pm = lambda k, scale=1: f"{scale * e[k][0]:.1f} (±{scale * e[k][1]:.1f})"
        paper = paper_mnist(row, variant, e["epochs"])
        paper = "-" if paper is None else f"{paper[0]} / {paper[1]}"
        speedup = "-" if e["speedup"] is None else f"{e['speedup']:.1f}x"
        name = label(row, variant) + ("" if e["epochs"] == args.epochs else f" ({e['epochs']} epochs)")
        lines.append(
            f"| {row[-1]} | {name} | {pm('paper_iterations')} | "
            f"{speedup} | "
            f"{pm('test_accuracy', 100)} | {pm('first_epoch_test_accuracy', 100)} | "
            f"{pm('steps')} | {100 * e['not_converged'][0]:.2f} | {e['train_time_s'][0]:.0f} | "
            f"{e['inference_time_s'][0]:.2f} | {paper} | {', '.join(map(str, e['seeds']))} |"
        )
    lines += ["", *by_seed_markdown(runs)]
    if args.dataset == "fashion-mnist":
        lines += ["", "The papers' own code on Fashion-MNIST (3-layer HAM, 10 epochs): " + ", ".join(
            f"{label(r, v)} {it} iters / {acc} %"
            for (r, v), (it, acc) in PAPER_CODE_FASHION.items())]
    return "\n".join(lines) + "\n"


def figures(traces, out):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

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
        path = out.with_name(f"{out.name}-{name}.png")
        fig.savefig(path, dpi=110)
        plt.close(fig)
        written.append(path)
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


def curves_figure(runs, path):
    """Every run's learning curves (`hopjax.plot.learning_curves`) as laid out by
    `curve_panels`: a row of panels per network, a group's seeds in the same colour."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    panels = curve_panels(runs)
    fig, axes = plt.subplots(len(panels), 3, figsize=(15, 3.2 * len(panels)),
                             constrained_layout=True, squeeze=False)
    for row_axes, (row, lines) in zip(axes, panels):
        for name, group, options in lines:
            seeds = ", ".join(str(r["seed"]) for r in group)
            for i, run in enumerate(group):
                hj.plot.learning_curves(row_axes, run["by_epoch"], alpha=0.85, **options,
                                        label=f"{name}, seed {seeds}" if i == 0 else None)
        row_axes[1].set_title(f"{ROWS[row][0].upper()}, {row[-1]} layers")
        row_axes[2].legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.02, 1))  # beside
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true",
                        help=f"the quick reproduction: {QUICK}")
    parser.add_argument("--rows", nargs="+", choices=list(ROWS), default=list(ROWS))
    parser.add_argument("--variants", nargs="+", choices=list(VARIANTS), default=list(VARIANTS))
    parser.add_argument("--seeds", nargs="+", type=int, default=[0, 1, 2])
    parser.add_argument("--epochs", type=int, default=10)
    parser.add_argument("--papers-epochs", action="store_true",
                        help="take the synchronous CHN after 3 epochs and CHN-DEQ after 4 "
                        "(of the --epochs schedule), as the papers' Table 2 did")
    parser.add_argument("--backward", default=TrainConfig.backward, choices=BACKWARDS,
                        help="the training gradient (default: the papers' recurrent "
                        "backprop, rbp-unrolled); runs with another go to "
                        "<row>-<variant>-seed<k>-<backward>/")
    parser.add_argument("--backward-steps", type=int, metavar="K",
                        help="the recurrent-backprop steps K (default: the papers' 8 / 16 / "
                        "24 for 3 / 5 / 7 layers; for fixed-point, its most steps); runs go "
                        "to <row>-<variant>-seed<k>-<backward>-K<K>/")
    parser.add_argument("--include", nargs="+", metavar="JSON",
                        help="earlier results files whose runs join this table (trained the "
                        "same way; their run directories need not exist; the figures show "
                        "only this call's runs)")
    parser.add_argument("--merge-only", action="store_true",
                        help="train nothing: the table of the --include files' runs alone")
    parser.add_argument("--dataset", default="fashion-mnist", choices=["mnist", "emnist-mnist", "fashion-mnist"])
    parser.add_argument("--data-dir", help="directory of MNIST-format IDX files "
                        "(default: $HOPJAX_DATA_DIR, else Debian's Fashion-MNIST or tfds)")
    parser.add_argument("--train-examples", type=int)
    parser.add_argument("--test-examples", type=int)
    parser.add_argument("--trace-samples", type=int, default=1000,
                        help="test images whose full trajectories make the figures")
    parser.add_argument("--runs-dir", help="where the training runs go, reused and resumed "
                        "(default: <out>-runs; --quick: a new temporary directory)")
    parser.add_argument("--out", help="results path without suffix (default: benchmarks/results/table2[-quick])")
    parser.add_argument("--no-progress", action="store_true")
    args = parser.parse_args()
    if args.merge_only and not args.include:
        parser.error("--merge-only needs --include")
    if args.quick:
        for key, value in QUICK.items():
            setattr(args, key, value)
    out = pathlib.Path(args.out or RESULTS / ("table2-quick" if args.quick else "table2"))
    out.parent.mkdir(parents=True, exist_ok=True)
    if args.runs_dir is None:  # the quick job starts afresh; a full one resumes its runs
        args.runs_dir = tempfile.mkdtemp(prefix="table2-quick-runs-") if args.quick else str(
            out.with_name(out.name + "-runs"))

    start = time.perf_counter()
    data = load_dataset(args.dataset, data_dir=args.data_dir).subset(
        args.train_examples, args.test_examples)
    included = included_runs(args)  # checked before any training
    jobs = [] if args.merge_only else [
        (r, v, s) for r in args.rows for v in args.variants for s in args.seeds]
    runs, traces = [], {}
    for row, variant, seed in tqdm(jobs, desc="table 2", unit="run", disable=args.no_progress):
        result, trace = run_one(row, variant, seed, args, data)
        runs.append(result)
        traces.setdefault((row, variant), []).append(trace)
    traces = {k: np.concatenate(v) for k, v in traces.items()}
    trained = set(map(run_key, runs))
    runs = table_order(runs + [r for r in included if run_key(r) not in trained])
    table = aggregate(runs)
    text = markdown(table, runs, args, data.description)
    print("\n" + text)
    pngs = figures(traces, out)
    curved = [r for r in runs if "by_epoch" in r]  # results files older than 2026-11-30 lack it
    if len(curved) < len(runs):
        print("no learning curves recorded (older table2.py) for: " + ", ".join(
            f"{r['row']}-{r['variant']}-seed{r['seed']}" for r in runs if "by_epoch" not in r))
    if curved:
        pngs.append(curves_figure(curved, out.with_name(f"{out.name}-curves.png")))
    record = {
        "settings": {k: v for k, v in vars(args).items()},
        "data": data.description,
        "backend": jax.default_backend(),
        "devices": [str(d) for d in jax.devices()],
        "machine": {"cpus": os.cpu_count(), "platform": platform.platform()},
        "total_time_s": time.perf_counter() - start,
        "table": [{"row": r, "variant": v, **e} for (r, v), e in table.items()],
        "runs": runs,
    }
    out.with_suffix(".json").write_text(json.dumps(record, indent=1) + "\n")
    out.with_suffix(".md").write_text(text)
    print(f"wrote {out}.json, {out}.md, " + ", ".join(map(str, pngs))
          + f" in {record['total_time_s']:.0f} s")


if __name__ == "__main__":
    main()
