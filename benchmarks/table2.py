"""Reproduce the main paper's Table 2 (and Figs. 3-4): train every network x update
scheme x solver with the papers' recipe, then report iterations to convergence, the
speedup in state updates, test accuracy and wall times, mean (± std) over seeds.

    python benchmarks/table2.py --quick           # < 10 min on a 2-core CPU (bash run.sh benchmark)
    python benchmarks/table2.py                   # every row, 10 epochs, 3 seeds: needs a GPU
    python benchmarks/table2.py --rows ham3 --seeds 0 1 2 3 4
    python benchmarks/table2.py --rows chn3 --papers-epochs   # CHN after 3, CHN-DEQ after 4 epochs
    python benchmarks/table2.py --rows ham5 --jobs 2          # two runs at once, one per core

Each (row, variant, seed) trains into --runs-dir/<row>-<variant>-seed<k>/ (a `hopjax
train` run directory: metrics.jsonl + checkpoint.eqx; --quick's default is a temporary
directory, removed at the end); a finished run is reused and an unfinished one resumed,
so a long reproduction can be split over several calls; with --jobs N, N runs train at
once in worker processes (`_table2_pool.py`). A run taken before --epochs
(--papers-epochs) goes to <row>-<variant>-seed<k>-epoch<e>/.
Results: <out>.json, <out>.md, <out>-fig3.png / <out>-fig4.png (density heatmaps of
per-sample relative-residual trajectories, as the papers' Figs. 3-4) and <out>-curves.png
(every run's test accuracy, iterations and loss by epoch; benchmarks/curves.py overlays
several results files).

This file trains and evaluates; `_table2_rows.py` holds the papers' rows and numbers,
`_table2_summary.py` the tables made from the runs' records, `_table2_figures.py` the
figures, `_table2_pool.py` the worker processes of --jobs.
"""

import argparse
import functools
import json
import pathlib
import tempfile
import time

import jax
import numpy as np
from tqdm.auto import tqdm

from hopjax.data import load_dataset, TFDS_NAMES
from hopjax.train import BACKWARDS, CHECKPOINT, evaluate, read_header, train, TrainConfig

from _machine import machine
from _options import (
    beside,
    interrupt_says,
    load_or_exit,
    once_each,
    positive_int,
    results_base,
    seed_int,
    writable_directory,
    write_whole,
)
from _table2_figures import curves_figure, figures
from _table2_pool import run_parallel
from _table2_rows import PAPER_EPOCHS, ROWS, VARIANTS
from _table2_summary import aggregate, markdown, results_runs, run_key, run_name, TABLE_KEYS, table_order


RESULTS = pathlib.Path(__file__).parent / "results"
QUICK = dict(rows=["ham3", "chn3"], seeds=[0], epochs=1, train_examples=12_800,
             test_examples=2_000, trace_samples=500)


def taken_at(row: str, variant: str, args) -> int:
    """The epoch after which a variant's model is taken: `--epochs`, or with
    `--papers-epochs` the papers' choice (`PAPER_EPOCHS`) where that is earlier. Either
    way the learning rate follows the `--epochs` schedule, as the papers' early
    checkpoints followed their 10-epoch one."""
    if not args.papers_epochs:
        return args.epochs
    return min(PAPER_EPOCHS.get((row, variant), args.epochs), args.epochs)


EPOCH_KEYS = ("test_accuracy", "test_paper_iterations", "test_not_converged", "train_loss",
              "train_time_s", "train_adjoint_not_converged")
"""What each run's record keeps of every epoch, from its metrics.jsonl (the run
directories themselves are not committed). A key is left out where some epoch has no
number for it (`train_adjoint_not_converged` with an unrolled backward mode, which
solves no adjoint, or in metrics written before 2026-12-06)."""


def config_for(row, variant, seed, args):
    """The training settings of one run of this call."""
    model_name, layers = ROWS[row]
    update, solver, _ = VARIANTS[variant]
    return TrainConfig(
        model=model_name, layer_sizes=layers, update=update, solver=solver,
        epochs=args.epochs, seed=seed, dataset=args.dataset, data_dir=args.data_dir,
        train_examples=args.train_examples, test_examples=args.test_examples,
        backward=args.backward, backward_steps=args.backward_steps,
    )


def load_data(args):
    """The data set of this call, cut to --train-examples / --test-examples."""
    return load_dataset(args.dataset, data_dir=args.data_dir).subset(
        args.train_examples, args.test_examples)


def run_all(jobs, args, data):
    """Yield `((row, variant, seed), (result, trace))` for every job: in this process,
    in order, or with `--jobs N` in N worker processes (`_table2_pool`), as they finish.
    Workers show no per-batch progress bars (they would overwrite each other)."""
    if args.jobs == 1:
        for job in jobs:
            yield job, run_one(*job, args, data)
        return
    quiet = argparse.Namespace(**dict(vars(args), no_progress=True))
    yield from run_parallel(jobs, args.jobs, functools.partial(load_data, quiet),
                            functools.partial(run_one, args=quiet))


def run_one(row, variant, seed, args, data):
    config = config_for(row, variant, seed, args)
    epochs = taken_at(row, variant, args)
    out = pathlib.Path(args.runs_dir) / (
        f"{row}-{variant}-seed{seed}"
        + ("" if args.backward == TrainConfig.backward and args.backward_steps is None
           else f"-{args.backward}")
        + ("" if args.backward_steps is None else f"-K{args.backward_steps}")
        + ("" if epochs == args.epochs else f"-epoch{epochs}"))
    checkpoint = out / CHECKPOINT
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
        "by_epoch": {key: [h[key] for h in history] for key in EPOCH_KEYS
                     if all(h.get(key) is not None for h in history)},
        "paper_iterations": report["paper_iterations"]["mean"],
        "steps": report["steps"]["mean"],
        "not_converged": report["not_converged"],
        "train_time_s": float(sum(h["train_time_s"] for h in history)),
        "inference_time_s": report["wall_time_s"],
        "fixed_count_inference_time_s": (
            figure["wall_time_s"] * len(data.test_images) / len(figure["per_sample"]["correct"])),
        "config": config.to_dict(),
        "machine": machine(),  # where it was evaluated (and trained, unless reused)
    }, figure["per_sample"]["trace"][:, 1:]  # drop step 1 (F_1 vs the zero start): papers' t = 0..T-2


def included_runs(args):
    """The runs of the `--include` results files (the first of each network x variant x
    seed), checked to be trained as this call's are: every training setting (data set
    and its size, schedule length, backward and its steps, ...) but the data directory,
    and taken after the same epoch."""
    runs = []
    for path in args.include or ():
        for run in results_runs(path, "--include ", TABLE_KEYS):
            key = run_key(run)
            wanted = config_for(*key, args).to_dict()
            differs = {k: run["config"].get(k) for k, v in wanted.items()
                       if run["config"].get(k) != v and k != "data_dir"}
            taken = run.get("epochs", run["config"]["epochs"])  # older files lack "epochs"
            if taken != taken_at(run["row"], run["variant"], args):
                differs["taken after epoch"] = taken
            if differs:
                raise SystemExit(f"--include {path}: {key} was trained otherwise ({differs}); "
                                 "it cannot share a table with this call's runs.")
            if key not in map(run_key, runs):
                runs.append(run)
    return runs


def parse_with_quick(parser: argparse.ArgumentParser, argv=None) -> argparse.Namespace:
    """The command line; with `--quick`, `QUICK`'s settings stand for the options it
    does not give (one given wins: `--quick --seeds 1` is the quick job on seed 1)."""
    unset = object()
    args = parser.parse_args(argv, namespace=argparse.Namespace(**dict.fromkeys(QUICK, unset)))
    for key, value in QUICK.items():
        if getattr(args, key) is unset:
            setattr(args, key, value if args.quick else parser.get_default(key))
    return args


def command_line() -> argparse.ArgumentParser:
    """table2.py's options."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true",
                        help=f"the quick reproduction: {QUICK}; an option given wins over its value here")
    parser.add_argument("--rows", nargs="+", choices=list(ROWS), default=list(ROWS))
    parser.add_argument("--variants", nargs="+", choices=list(VARIANTS), default=list(VARIANTS))
    parser.add_argument("--seeds", nargs="+", type=seed_int, default=[0, 1, 2])
    parser.add_argument("--epochs", type=positive_int, default=10)
    parser.add_argument("--papers-epochs", action="store_true",
                        help="take the synchronous CHN after 3 epochs and CHN-DEQ after 4 "
                        "(of the --epochs schedule), as the papers' Table 2 did")
    parser.add_argument("--backward", default=TrainConfig.backward, choices=BACKWARDS,
                        help="the training gradient (default: the papers' recurrent "
                        "backprop, rbp-unrolled); runs with another go to "
                        "<row>-<variant>-seed<k>-<backward>/")
    parser.add_argument("--backward-steps", type=positive_int, metavar="K",
                        help="the recurrent-backprop steps K (default: the papers' 8 / 16 / "
                        "24 for 3 / 5 / 7 layers; for fixed-point, its most steps); runs go "
                        "to <row>-<variant>-seed<k>-<backward>-K<K>/")
    parser.add_argument("--include", nargs="+", metavar="JSON",
                        help="earlier results files whose runs join this table (trained the "
                        "same way; their run directories need not exist; the figures show "
                        "only this call's runs)")
    parser.add_argument("--merge-only", action="store_true",
                        help="train nothing: the table of the --include files' runs alone")
    parser.add_argument("--dataset", default="fashion-mnist", choices=sorted(TFDS_NAMES))
    parser.add_argument("--data-dir", help="directory of MNIST-format IDX files "
                        "(default: $HOPJAX_DATA_DIR, else Debian's Fashion-MNIST or tfds)")
    parser.add_argument("--train-examples", type=positive_int)
    parser.add_argument("--test-examples", type=positive_int)
    parser.add_argument("--trace-samples", type=positive_int, default=1000,
                        help="test images whose full trajectories make the figures")
    parser.add_argument("--runs-dir", help="where the training runs go, reused and resumed "
                        "(default: <out>-runs; --quick: a temporary directory, removed at the end)")
    parser.add_argument("--out", help="results path: writes <out>.json, <out>.md and <out>-*.png; "
                        "a .json ending is dropped (default: benchmarks/results/table2[-quick])")
    parser.add_argument("--jobs", type=positive_int, default=1, metavar="N",
                        help="train N runs at once, in N worker processes: on a CPU each "
                        "pinned to one core (give N = the cores), on a GPU sharing it")
    parser.add_argument("--no-progress", action="store_true",
                        help="no progress bars: a line as each run finishes (for logs)")
    return parser


def main():
    parser = command_line()
    args = parse_with_quick(parser)
    if args.merge_only and not args.include:
        parser.error("--merge-only needs --include")
    once_each(parser, args, "rows", "variants", "seeds")
    for row in args.rows:  # settings TrainConfig refuses (--backward-steps with gmres), before any work
        for variant in args.variants:
            try:
                config_for(row, variant, args.seeds[0], args)
            except ValueError as error:
                parser.error(str(error))
    out = results_base(parser, args.out or RESULTS / ("table2-quick" if args.quick else "table2"))
    scratch = args.runs_dir is None and args.quick
    if args.runs_dir is None and not args.quick:  # a full one resumes its runs
        args.runs_dir = str(beside(out, "-runs"))
    if args.runs_dir is not None and not args.merge_only:  # trained into: checked before the work
        writable_directory(parser, f"--runs-dir {args.runs_dir}", args.runs_dir, create=False)
    kept = ("nothing is kept (--quick trains in a temporary directory unless given "
            "--runs-dir)" if scratch else f"each run's finished epochs are kept in "
            f"{args.runs_dir}, and the same command continues them")
    with interrupt_says(lambda: kept):
        if scratch:  # the quick job starts afresh, in scratch space
            with tempfile.TemporaryDirectory(prefix="table2-quick-runs-") as runs_dir:
                return reproduce(args, out, runs_dir)
        reproduce(args, out, args.runs_dir)


def reproduce(args, out: pathlib.Path, runs_dir: str):
    """Train (into `runs_dir`) and evaluate this call's runs, join the `--include`d ones,
    and write the table, the JSON record and the figures to `out`. The record's
    `settings.runs_dir` is None where `runs_dir` is the quick job's temporary directory,
    removed when it ends."""
    settings = vars(args).copy()
    args.runs_dir = runs_dir
    start = time.perf_counter()
    data = load_or_exit(load_data, args)
    included = included_runs(args)  # checked before any training
    jobs = [] if args.merge_only else [
        (r, v, s) for r in args.rows for v in args.variants for s in args.seeds]
    done = {}
    for job, outcome in tqdm(run_all(jobs, args, data), total=len(jobs), desc="table 2",
                             unit="run", disable=args.no_progress):
        done[job] = outcome
        if args.no_progress:  # a line per run instead of the bar, for logs
            run = outcome[0]
            print(f"run {len(done)}/{len(jobs)} {run_name(run)}: "
                  f"test accuracy {100 * run['test_accuracy']:.2f} %, iterations "
                  f"{run['paper_iterations']:.2f} (papers' count), {run['train_time_s']:.0f} s "
                  "training", flush=True)
    runs, traces = [done[job][0] for job in jobs], {}
    for job in jobs:  # row x variant: its seeds' trajectories, in seed order
        traces.setdefault(job[:2], []).append(done[job][1])
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
            run_name(r) for r in runs if "by_epoch" not in r))
    if curved:
        pngs.append(curves_figure(curved, beside(out, "-curves.png")))
    record = {
        "settings": settings,
        "data": data.description,
        "backend": jax.default_backend(),
        "devices": [str(d) for d in jax.devices()],
        "machine": machine(),
        "total_time_s": time.perf_counter() - start,
        "table": [{"row": r, "variant": v, **e} for (r, v), e in table.items()],
        "runs": runs,
    }
    write_whole(beside(out, ".json"), json.dumps(record, indent=1) + "\n")
    write_whole(beside(out, ".md"), text)
    print(f"wrote {beside(out, '.json')}, {beside(out, '.md')}, " + ", ".join(map(str, pngs))
          + f" in {record['total_time_s']:.0f} s")


if __name__ == "__main__":
    main()
