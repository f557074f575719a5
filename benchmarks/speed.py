"""Wall time of forward solves and training steps, per network x variant x batch size,
with an iteration-level roofline: the measured time of one map iteration against the
floor set by its matrix products and memory traffic on this device.

    python benchmarks/speed.py                          # CPU defaults (batches 64, 1000)
    python benchmarks/speed.py --batches 64 1000 10000  # GPU
    python benchmarks/speed.py --precision bf16         # bf16 matmuls, accuracy cost shown

Every time is the median of --repeats runs of a jit-compiled function after a warm-up
call, synchronised with `jax.block_until_ready`. Forward times are given twice: with
hopjax's per-sample early stop (rtol 1e-4) and at the papers' fixed iteration count
(40 / 80 / 120; synchronous CHN 80), so per-iteration speed is visible too; the time of
one iteration is (fixed count - half the count) / (half the count), which leaves out
the per-solve costs (input drive, reconstruction). The train
step is forward + recurrent backprop (8 / 16 / 24 steps) + Madam, as the papers' recipe.
Results: benchmarks/results/speed-<backend>[-<precision>].json, rewritten after every
row (a run cut short keeps the rows it measured).
"""

import argparse
import json
import os
import pathlib

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
from tqdm.auto import tqdm

import hopjax as hj
from hopjax.data import DEBIAN_FASHION_MNIST, load_idx_split
from hopjax.train import make_train_step, TrainConfig

from _machine import machine
from _options import interrupt_says, load_or_exit, once_each, out_path, positive_int, write_whole
from _table2_rows import ROWS, VARIANTS
from _timing import median_time


RESULTS = pathlib.Path(__file__).parent / "results"
#: The papers' PyTorch code on one NVIDIA H100 (torch 2.11, float32, their fixed iteration
#: counts), as measured for hopjax issue 4, in ms: forward at batch 64 and 10 000, train
#: step at 64.
PAPER_CODE_H100 = {
    "ham3 sync-picard": (4.36, 85.7, 9.20), "ham3 sync-anderson": (31.4, 352, 31.8),
    "ham3 eo-picard": (7.33, 18.5, 14.2), "ham3 eo-anderson": (21.3, 32.3, 41.3),
    "ham5 sync-picard": (7.34, 166, 15.5), "ham5 eo-anderson": (53.1, 242, 77.8),
    "ham7 sync-picard": (13.1, 246, 28.1), "ham7 eo-anderson": (84.0, 426, 113),
    "chn3 sync-picard": (22.0, 235, 34.9), "chn3 eo-anderson": (167, 626, 264),
}
PRECISIONS = {"float32": "float32", "tf32": "tensorfloat32", "bf16": "bfloat16"}


def device_ceilings(repeats):
    """Measured matmul throughput (FLOP/s) and copy bandwidth (bytes/s) of the device."""
    n = 4096 if jax.default_backend() != "cpu" else 1024
    a = jax.random.normal(jax.random.key(0), (n, n), jnp.float32)
    matmul = jax.jit(lambda a: a @ a)
    flops = 2 * n**3 / median_time(matmul, a, repeats=repeats)
    size = (2**26 if jax.default_backend() != "cpu" else 2**24)
    x = jnp.ones((size,), jnp.float32)
    copy = jax.jit(lambda x: x * 1.0001)
    bandwidth = 2 * 4 * size / median_time(copy, x, repeats=repeats)
    return flops, bandwidth


def iteration_floor(layers, batch, flops_per_s, bytes_per_s):
    """Floor of one HAM map iteration (synchronous or even-odd: each updates every layer
    once and uses every state-state matrix twice). FLOPs = 2 uses x 2·B·Σ d_i d_{i+1};
    bytes (float32) = the least traffic an iteration needs: read and write every state
    layer once (2·B·N), read the input drive ρ(x)U (B·d_1), read the matrices twice.
    Floor = max(FLOPs / matmul throughput, bytes / copy bandwidth)."""
    edges = sum(a * b for a, b in zip(layers[1:-1], layers[2:]))
    flops = 4 * batch * edges
    bytes_ = 4 * (2 * batch * sum(layers[1:]) + batch * layers[1] + 2 * edges)
    return {"flops": flops, "bytes": bytes_,
            "floor_s": max(flops / flops_per_s, bytes_ / bytes_per_s)}


def run_record(precision, flops_per_s, bytes_per_s):
    """What the results file says about the whole run (its rows come after)."""
    return {
        "backend": jax.default_backend(), "devices": [str(d) for d in jax.devices()],
        "machine": machine(), "precision": precision,
        "matmul_flops_per_s": flops_per_s, "copy_bytes_per_s": bytes_per_s,
        "note": "The papers' code column: their PyTorch code on one H100 (hopjax issue 4); "
                "compare only with a GPU run.",
    }


def print_table(rows):
    """The results as a plain-text table."""
    header = (f"{'row':18} {'batch':>6} {'fwd early ms':>12} {'fwd fixed ms':>12} {'steps':>6} {'ms/iter':>9} "
              f"{'floor ms':>9} {'x floor':>7} {'train ms':>9} {'paper H100 fwd/train':>20}")
    print(header)
    for r in rows:
        if "floor_per_iteration_ms" in r:
            floor = f"{r['floor_per_iteration_ms']:9.3f} {r['iteration_vs_floor']:7.1f}"
        else:
            floor = f"{'-':>9} {'-':>7}"
        train = f"{r['train_step_ms']:9.2f}" if "train_step_ms" in r else f"{'-':>9}"
        paper = f"{r.get('papers_code_h100_forward_ms', '-')}/{r.get('papers_code_h100_train_step_ms', '-')}"
        print(f"{r['row']:18} {r['batch']:6d} {r['forward_early_stop_ms']:12.2f} {r['forward_fixed_count_ms']:12.2f} "
              f"{r['mean_steps']:6.1f} {r['per_iteration_ms']:9.3f} {floor} {train} {paper:>20}")


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", nargs="+", default=list(PAPER_CODE_H100), choices=list(PAPER_CODE_H100))
    parser.add_argument("--batches", nargs="+", type=positive_int, default=None,
                        help="batch sizes (default: 64 1000 on CPU, 64 1000 10000 on GPU)")
    parser.add_argument("--train-batches", nargs="+", type=positive_int, default=None,
                        help="batch sizes, among --batches, at which a training step is timed "
                             "too (default: 64, where measured)")
    parser.add_argument("--precision", choices=list(PRECISIONS), default="float32")
    parser.add_argument("--repeats", type=positive_int, default=5)
    parser.add_argument("--data-dir", default=os.environ.get("HOPJAX_DATA_DIR", DEBIAN_FASHION_MNIST))
    parser.add_argument("--out")
    args = parser.parse_args()
    backend = jax.default_backend()
    precision_suffix = "" if args.precision == "float32" else "-" + args.precision
    out = out_path(parser, args.out or RESULTS / f"speed-{backend}{precision_suffix}.json")
    batches = args.batches or ([64, 1000] if backend == "cpu" else [64, 1000, 10_000])
    once_each(parser, args, "rows", "batches", "train-batches")
    if args.train_batches is None:
        args.train_batches = [64]
    elif not set(args.train_batches) <= set(batches):
        parser.error(f"--train-batches {args.train_batches}: a training step is timed only at "
                     f"the batch sizes --batches measures ({batches}).")
    rows = []
    with interrupt_says(lambda: f"the rows measured so far ({len(rows)}) are in {out}" if rows
                        else f"no row had been measured, so {out} was not written"):
        measure(args, batches, out, rows)
    print_table(rows)
    print(f"wrote {out}")


def measure(args, batches, out, rows):
    """Measure each row of `args.rows` at each batch size of `batches`, appending each
    row's record to `rows` and rewriting `out` with them all as it is measured."""
    backend = jax.default_backend()
    images, labels = load_or_exit(load_idx_split, args.data_dir, "test")
    tile = lambda a, n: np.resize(a, (n,) + a.shape[1:])  # repeat the test set if n > 10 000
    flops_per_s, bytes_per_s = device_ceilings(args.repeats)
    print(f"{backend}: matmul {flops_per_s / 1e9:.0f} GFLOP/s, copy {bytes_per_s / 1e9:.1f} GB/s")

    record = dict(run_record(args.precision, flops_per_s, bytes_per_s),
                  repeats=args.repeats, data=str(args.data_dir))
    with jax.default_matmul_precision(PRECISIONS[args.precision]):
        for name in tqdm(args.rows, desc="rows"):
            net, variant = name.split()
            model_name, layers = ROWS[net]
            update, solver, _ = VARIANTS[variant]
            config = TrainConfig(model=model_name, layer_sizes=layers, update=update, solver=solver)
            model = config.make_model(config.keys()[0])  # the model initial_state() builds
            options = config.solve_options(backward=False)
            cap = config.resolved_max_steps
            solve = eqx.filter_jit(lambda m, x, o: hj.solve(m, x, **o))
            for batch in batches:
                x = jnp.asarray(tile(images, batch))
                early = median_time(solve, model, x, options, repeats=args.repeats)
                fixed_options = dict(options, early_stop=False)
                fixed = median_time(solve, model, x, fixed_options, repeats=args.repeats)
                half = median_time(solve, model, x, dict(fixed_options, max_steps=cap // 2),
                                   repeats=args.repeats)
                per_iteration = (fixed - half) / (cap - cap // 2)  # without per-solve costs
                eq = solve(model, x, options)
                reference = eq
                if args.precision != "float32":
                    with jax.default_matmul_precision("float32"):
                        reference = solve(model, x, options)
                row = {
                    "row": name, "batch": batch, "forward_early_stop_ms": 1e3 * early,
                    "forward_fixed_count_ms": 1e3 * fixed, "fixed_count": cap,
                    "per_iteration_ms": 1e3 * per_iteration,
                    "mean_steps": float(jnp.mean(eq.num_steps)),
                    "output_max_abs_diff_vs_float32": float(jnp.max(jnp.abs(eq.output - reference.output))),
                    "argmax_agreement_vs_float32": float(jnp.mean(
                        jnp.argmax(eq.output, -1) == jnp.argmax(reference.output, -1))),
                }
                if model_name == "ham":
                    floor = iteration_floor(layers, batch, flops_per_s, bytes_per_s)
                    row.update(floor_per_iteration_ms=1e3 * floor["floor_s"],
                               iteration_vs_floor=per_iteration / floor["floor_s"],
                               flops_per_iteration=floor["flops"], bytes_per_iteration=floor["bytes"])
                if batch in args.train_batches:
                    # A fresh optimiser state per batch size: the step donates it.
                    _, optimiser, opt_state, _ = config.initial_state(steps_per_epoch=937)
                    step = make_train_step(optimiser, **config.solve_options())
                    state = [model, opt_state]
                    y = jnp.asarray(tile(labels, batch))

                    def one_step():
                        state[0], state[1], metrics = step(state[0], state[1], x, y)
                        return metrics

                    row["train_step_ms"] = 1e3 * median_time(one_step, repeats=args.repeats)
                reference_ms = PAPER_CODE_H100[name]
                paper = {64: reference_ms[0], 10_000: reference_ms[1]}.get(batch)
                if paper is not None:
                    row["papers_code_h100_forward_ms"] = paper
                if batch == 64:
                    row["papers_code_h100_train_step_ms"] = reference_ms[2]
                rows.append(row)
                # Rewritten after every row: a run cut short keeps the rows it measured.
                write_whole(out, json.dumps(dict(record, rows=rows), indent=1) + "\n")


if __name__ == "__main__":
    main()
