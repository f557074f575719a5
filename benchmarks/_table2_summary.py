"""Table 2 from training runs' records: reading results files, the mean ± std over seeds
per network x variant, the papers' speedup in state updates, and the Markdown tables
(the means in the paper's layout, then every run by seed)."""

import json
import pathlib

import jax
import numpy as np

from _table2_rows import (
    label,
    PAPER_CODE_FASHION,
    paper_mnist,
    ROWS,
    state_update_speedup,
    VARIANTS,
)


RUN_IDENTITY = ("row", "variant", "seed", "config")
"""The keys that name a run record and its settings (what `curves.py` needs, with the
`by_epoch` curves it reads where present)."""

TABLE_KEYS = RUN_IDENTITY + (
    "test_accuracy", "first_epoch_test_accuracy", "paper_iterations", "steps", "not_converged",
    "train_time_s", "inference_time_s", "fixed_count_inference_time_s",
)
"""The keys of a run record that the table is made from, which every table2.py results
file has held (`by_epoch`, `epochs` and `machine` are later additions, read where
present)."""


def run_key(run):
    return run["row"], run["variant"], run["seed"]


def run_name(run) -> str:
    """A run record's name in messages, e.g. `ham3-eo-anderson-seed0`."""
    return f"{run['row']}-{run['variant']}-seed{run['seed']}"


def results_runs(path, what="", keys=RUN_IDENTITY):
    """The run records of a table2.py results file (<out>.json); a missing or foreign file,
    or a run without one of `keys` (`TABLE_KEYS` to tabulate the runs), is an error that
    names it (after `what`, e.g. the option that named it)."""
    path = pathlib.Path(path)
    if not path.is_file():
        raise SystemExit(f"{what}{path}: no such results file (table2.py writes <out>.json).")
    try:
        record = json.loads(path.read_text())
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise SystemExit(f"{what}{path}: not a table2.py results file (not JSON: {error}).")
    if not isinstance(record, dict) or "runs" not in record:
        raise SystemExit(f"{what}{path}: not a table2.py results file (it has no 'runs').")
    if not isinstance(record["runs"], list):
        raise SystemExit(f"{what}{path}: not a table2.py results file (its 'runs' is not a list).")
    for index, run in enumerate(record["runs"]):
        why = _not_a_run(run, keys)
        if why:
            raise SystemExit(f"{what}{path}: not a table2.py results file (its run {index} {why}).")
    settings = record.get("settings", {})
    merged = settings.get("include") or settings.get("merge_only")
    # files before 2026-12-03 record no machine per run; that of a call which trained every
    # run itself is the file's own, that of a merge is unknown
    own = None if merged else record.get("machine")
    return [run if "machine" in run else {**run, "machine": own} for run in record["runs"]]


def _not_a_run(run, keys) -> str | None:
    """Why `run` is not a run record with `keys` of a row and variant table2.py knows, or
    None."""
    if not isinstance(run, dict):
        return f"is not a record, got {run!r}"
    missing = [key for key in keys if key not in run]
    if missing:
        return f"has no {', '.join(map(repr, missing))}"
    if run["row"] not in ROWS or run["variant"] not in VARIANTS:
        return (f"names row {run['row']!r}, variant {run['variant']!r}; table2.py knows rows "
                f"{list(ROWS)} and variants {list(VARIANTS)}")
    return None


def machine_name(machine):
    """A run's machine in a few words: the accelerator where there is one, else the
    processor and its widest vector instructions; and the jax version. These decide the
    last bits of a float32 result. Files written before 2026-12-03 record no processor
    (only the CPU count and platform): "not recorded"; before 2026-12-04, no accelerator
    (they ran on CPUs)."""
    if machine is None or "processor" not in machine:
        return "not recorded"
    if machine.get("accelerator"):
        return f"{machine['accelerator']}, jax {machine['versions']['jax']}"
    return (f"{machine['processor']} ({machine['vector_extension'] or 'no vector extension'}), "
            f"jax {machine['versions']['jax']}")


def machines_markdown(runs):
    """Which machine each run ran on: results are bit-identical on one machine but move
    between CPUs (docs/table2.md, "Reproducibility"), and a merged table may join runs
    from several."""
    by_machine = {}
    for run in runs:
        by_machine.setdefault(machine_name(run.get("machine")), []).append(run_name(run))
    if len(by_machine) == 1:
        return f"Every run on: {next(iter(by_machine))}."
    return "Runs by machine: " + "; ".join(
        f"{name}: {', '.join(names)}" for name, names in by_machine.items()) + "."


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
    """`state_update_speedup` of a summary `entry` over the summary `base` (synchronous
    Picard of the same network), on their mean iterations."""
    return state_update_speedup(row, variant, entry["paper_iterations"][0],
                                base["paper_iterations"][0])


def aggregate(runs):
    """Table 2 as {(network, variant): `summarise` of its runs, with its `speedup` over
    synchronous Picard of the same network (None without such runs)}."""
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
                ratio = state_update_speedup(row, variant, iterations, base["paper_iterations"])
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
        f"{jax.default_backend()}.",
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
    lines += ["", *by_seed_markdown(runs), "", machines_markdown(runs)]
    if args.dataset == "fashion-mnist":
        lines += ["", "The papers' own code on Fashion-MNIST (3-layer HAM, 10 epochs): " + ", ".join(
            f"{label(r, v)} {it} iters / {acc} %"
            for (r, v), (it, acc) in PAPER_CODE_FASHION.items())]
    return "\n".join(lines) + "\n"
