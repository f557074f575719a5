"""Compare the runs of one or more `benchmarks/table2.py` results files, e.g. the same
network trained with two backward modes: overlay their learning curves (test accuracy,
iterations to convergence and training loss by epoch) in a PNG, and tabulate their final
numbers side by side (mean ± std over seeds; fewer iterations and accuracy difference
against synchronous Picard of the same network) in a Markdown file next to it.

    python benchmarks/curves.py benchmarks/results/table2-ham7-3seeds.json \\
        benchmarks/results/table2-ham7-eo-anderson-K12-3seeds.json \\
        --out benchmarks/results/table2-ham7-backward-curves.png

Unlike `table2.py --include`, the files may hold runs trained differently (backward mode,
its steps K): runs that differ in how they were trained are kept apart and named by it.
"""

import argparse
import pathlib

from hopjax.train import TrainConfig

from _options import interrupt_says, out_path, write_whole
from _table2_figures import curve_groups, curves_figure, gradient
from _table2_rows import ROWS, VARIANTS
from _table2_summary import results_runs, run_name, speedup, summarise


def figure_out(parser: argparse.ArgumentParser, out: pathlib.Path) -> pathlib.Path:
    """`--out` checked as `out_path` does, and as a file name whose suffix names a format
    matplotlib writes (`.png`, `.svg`, `.pdf`, ...): checked before any file is read."""
    from matplotlib.backend_bases import FigureCanvasBase

    out = out_path(parser, out)
    formats = FigureCanvasBase.get_supported_filetypes()
    if out.suffix.lstrip(".").lower() not in formats:
        parser.error(f"--out {out}: the suffix names the figure's format; give a .png name "
                     f"(or one of {', '.join('.' + f for f in sorted(formats))}).")
    return out


def comparison_bases(groups):
    """Per network, the summary of the synchronous Picard group the others are compared
    with: the one trained with the papers' gradient where there is such, else the first."""
    bases = {}
    for _, group in groups:
        row = group[0]["row"]
        if group[0]["variant"] == "sync-picard" and (
                row not in bases or gradient(group[0]) == TrainConfig.backward):
            bases[row] = summarise(group)
    return bases


def comparison(runs) -> str:
    """A Markdown table of every `curve_groups` group's final numbers."""
    lines = [
        "| runs | seeds | iterations (papers' count) | fewer than sync. Picard (state updates) "
        "| test accuracy (%) | vs sync. Picard (points) | not converged (%) |",
        "|---|---|---|---|---|---|---|",
    ]
    groups = curve_groups(runs)
    bases = comparison_bases(groups)
    for name, group in groups:
        row, variant = group[0]["row"], group[0]["variant"]
        entry, base = summarise(group), bases.get(row)
        ratio = "-" if base is None else f"{speedup(row, variant, entry, base):.2f}x"
        points = "-" if base is None else (
            f"{100 * (entry['test_accuracy'][0] - base['test_accuracy'][0]):+.2f}")
        lines.append(
            f"| {name} | {', '.join(map(str, entry['seeds']))} | "
            f"{entry['paper_iterations'][0]:.1f} ± {entry['paper_iterations'][1]:.1f} | {ratio} | "
            f"{100 * entry['test_accuracy'][0]:.2f} ± {100 * entry['test_accuracy'][1]:.2f} | "
            f"{points} | {100 * entry['not_converged'][0]:.1f} |")
    return "\n".join(lines) + "\n"


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("results", nargs="+", type=pathlib.Path, help="table2.py JSON files")
    parser.add_argument("--rows", nargs="+", choices=list(ROWS), help="only these networks")
    parser.add_argument("--variants", nargs="+", choices=list(VARIANTS), help="only these variants")
    parser.add_argument("--out", type=pathlib.Path, required=True,
                        help="the PNG to write (the table goes to the same name with .md)")
    args = parser.parse_args()
    args.out = figure_out(parser, args.out)
    written = []
    with interrupt_says(lambda: f"{written[0]} was written, {args.out.with_suffix('.md')} was not"
                        if written else "nothing was written"):
        draw_and_tabulate(args, written)


def draw_and_tabulate(args, written):
    """The figure and the table of `args.results`' runs; `written` gets the figure's path
    once it is written (for Ctrl-C to say so)."""
    runs = []
    for path in args.results:
        found = results_runs(path)
        missing = [run_name(r) for r in found if "by_epoch" not in r]
        if missing:
            raise SystemExit(f"{path}: runs without per-epoch records (older table2.py): {missing}")
        runs += [r for r in found if (args.rows is None or r["row"] in args.rows)
                 and (args.variants is None or r["variant"] in args.variants)]
    if not runs:
        raise SystemExit("no runs to draw: check the files and --rows / --variants.")
    written.append(curves_figure(runs, args.out))
    print(f"wrote {written[0]} ({len(runs)} runs):")
    for name, group in curve_groups(runs):
        print(f"  {name}: seeds {', '.join(str(r['seed']) for r in group)}")
    table = comparison(runs)
    write_whole(args.out.with_suffix(".md"),
                "Compared: " + ", ".join(str(p) for p in args.results) + "\n\n" + table)
    print(f"\n{table}\nwrote {args.out.with_suffix('.md')}")


if __name__ == "__main__":
    main()
