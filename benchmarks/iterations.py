"""Iterations to convergence and solve time of every update scheme x solver, on real
Fashion-MNIST test images (or the IDX files in --data-dir), for the papers' 3-, 5- and
7-layer HAMs and 3-layer CHN at their initialisation (untrained: `table2.py` measures
the trained networks of Table 2).

Each row solves the same images with the papers' fixed iteration caps (40 / 80 / 120;
CHN synchronous: 80 damped) and rtol 1e-4, and reports the papers' iteration count
(Table-2 convention), hopjax's early-stop count, the fraction converged, and the median
wall time of a jit-compiled solve. Prints a table and writes JSON under
benchmarks/results/.

    python benchmarks/iterations.py            # about a minute on a 2-core CPU
    python benchmarks/iterations.py --samples 2000 --repeats 5 --networks "HAM 3L"
"""

import argparse
import json
import os
import pathlib
import time

import equinox as eqx
import jax
import numpy as np
from tqdm import tqdm

import hopjax as hj
from hopjax.data import DEBIAN_FASHION_MNIST, load_idx_split

from _machine import machine
from _options import interrupt_says, load_or_exit, once_each, out_path, positive_int, seed_int, write_whole


NETWORKS = {
    "HAM 3L": (hj.HAM, (784, 1990, 10), 40),
    "HAM 5L": (hj.HAM, (784, 1280, 510, 200, 10), 80),
    "HAM 7L": (hj.HAM, (784, 1024, 512, 256, 128, 70, 10), 120),
    "CHN 3L": (hj.CHN, (784, 1990, 10), 40),
}
VARIANTS = [
    ("synchronous", "Picard"),
    ("synchronous", "Anderson"),
    ("even_odd", "Picard"),
    ("even_odd", "Anderson"),
]


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data-dir", default=os.environ.get("HOPJAX_DATA_DIR", DEBIAN_FASHION_MNIST))
    parser.add_argument("--samples", type=positive_int, default=512, help="test images to solve")
    parser.add_argument("--batch", type=positive_int, default=256)
    parser.add_argument("--repeats", type=positive_int, default=3, help="timed repeats (median)")
    parser.add_argument("--seed", type=seed_int, default=0)
    parser.add_argument("--networks", nargs="+", default=list(NETWORKS), choices=list(NETWORKS))
    parser.add_argument("--out", default=pathlib.Path(__file__).parent / "results" / "iterations.json")
    args = parser.parse_args()
    once_each(parser, args, "networks")
    out = out_path(parser, args.out)
    with interrupt_says(lambda: f"nothing was written ({out} is written when every row is done)"):
        measure(args, out)


def measure(args, out):
    """Solve, time and tabulate each network x variant; print the table and write `out`."""
    images, _ = load_or_exit(load_idx_split, args.data_dir, "test")
    x = images[: args.samples]
    batches = [x[i : i + args.batch] for i in range(0, len(x), args.batch)]
    rows = []
    progress = tqdm(total=len(args.networks) * len(VARIANTS), desc="rows", unit="row")
    for name in args.networks:
        cls, sizes, cap = NETWORKS[name]
        model = cls(sizes, key=jax.random.PRNGKey(args.seed))
        for update, solver_name in VARIANTS:
            chn_sync = cls is hj.CHN and update == "synchronous"
            steps = 2 * cap if chn_sync else cap
            solver = getattr(hj, solver_name)()
            solve = eqx.filter_jit(
                lambda m, x, solver=solver, update=update, steps=steps: hj.solve(
                    m, x, update=update, solver=solver, rtol=1e-4, max_steps=steps
                )
            )
            results = [solve(model, b) for b in batches]  # compiles, then warm
            jax.block_until_ready(results)
            times = []
            for _ in range(args.repeats):
                start = time.perf_counter()
                jax.block_until_ready([solve(model, b) for b in batches])
                times.append(time.perf_counter() - start)
            paper = np.concatenate([np.asarray(r.paper_iterations) for r in results])
            own = np.concatenate([np.asarray(r.num_steps) for r in results])
            conv = np.concatenate([np.asarray(r.converged) for r in results])
            rows.append(
                {
                    "network": name,
                    "update": update,
                    "solver": solver_name,
                    "max_steps": steps,
                    "paper_iterations_mean": float(paper.mean()),
                    "paper_iterations_std": float(paper.std()),
                    "early_stop_steps_mean": float(own.mean()),
                    "early_stop_steps_median": float(np.median(own)),
                    "converged_fraction": float(conv.mean()),
                    "median_seconds": float(np.median(times)),
                    "samples": int(len(x)),
                }
            )
            progress.update()
    progress.close()

    header = (f"{'network':8} {'update':12} {'solver':9} {'paper iters':>14} {'early-stop':>10} "
              f"{'converged':>9} {'time (s)':>9} {'vs sync Picard':>14}")
    print(header)
    print("-" * len(header))
    base = {}
    for row in rows:
        key = row["network"]
        if row["update"] == "synchronous" and row["solver"] == "Picard":
            base[key] = row["early_stop_steps_mean"]
        ratio = base.get(key, float("nan")) / row["early_stop_steps_mean"]
        print(
            f"{row['network']:8} {row['update']:12} {row['solver']:9} "
            f"{row['paper_iterations_mean']:7.1f} ±{row['paper_iterations_std']:5.1f} "
            f"{row['early_stop_steps_mean']:10.1f} {row['converged_fraction']:9.1%} "
            f"{row['median_seconds']:9.3f} {ratio:13.2f}x"
        )
    meta = {
        "device": str(jax.devices()[0]),
        "machine": machine(),
        "data": str(args.data_dir),
        "seed": args.seed, "batch": args.batch, "repeats": args.repeats,
        "note": "networks at the papers' initialisation (untrained, from the seed); each row "
                "solves the first `samples` test images of the data directory",
    }
    write_whole(out, json.dumps({"meta": meta, "rows": rows}, indent=2) + "\n")
    print(f"\nwrote {out}")


if __name__ == "__main__":
    main()
