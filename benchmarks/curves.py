"""Overlay the learning curves (test accuracy, iterations to convergence and training loss
by epoch) of the runs in one or more `benchmarks/table2.py` results files, e.g. the same
network trained with two backward modes:

    python benchmarks/curves.py benchmarks/results/table2-ham7-2seeds.json \\
        benchmarks/results/table2-ham7-eo-anderson-seed0-gmres.json \\
        --out benchmarks/results/table2-ham7-backward-curves.png
"""

import argparse
import pathlib

from table2 import curve_groups, curves_figure, results_runs, ROWS, VARIANTS


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("results", nargs="+", type=pathlib.Path, help="table2.py JSON files")
    parser.add_argument("--rows", nargs="+", choices=list(ROWS), help="only these networks")
    parser.add_argument("--variants", nargs="+", choices=list(VARIANTS), help="only these variants")
    parser.add_argument("--out", type=pathlib.Path, required=True, help="the PNG to write")
    args = parser.parse_args()
    runs = []
    for path in args.results:
        found = results_runs(path)
        missing = [f"{r['row']}-{r['variant']}-seed{r['seed']}" for r in found if "by_epoch" not in r]
        if missing:
            raise SystemExit(f"{path}: runs without per-epoch records (older table2.py): {missing}")
        runs += [r for r in found if (args.rows is None or r["row"] in args.rows)
                 and (args.variants is None or r["variant"] in args.variants)]
    if not runs:
        raise SystemExit("no runs to draw: check the files and --rows / --variants.")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    print(f"wrote {curves_figure(runs, args.out)} ({len(runs)} runs):")
    for name, group in curve_groups(runs):
        print(f"  {name}: seeds {', '.join(str(r['seed']) for r in group)}")


if __name__ == "__main__":
    main()
