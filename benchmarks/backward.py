"""Which backward pass gives the implicit gradient, and at what cost?

For each network of the papers' Table 2 at its initialisation x update scheme, the
parameter gradient of the papers' loss (1/2 MSE of the output state against one-hot
labels) on the first --batch Fashion-MNIST test images, under every backward mode:

- `fixed-point`: `hj.FixedPointAdjoint()`, hopjax's default (plain Anderson on the
  adjoint w = J^T w + g, rtol 1e-6);
- `fixed-point-safeguarded`: the same with the papers' safeguard (the default before
  2026-12-05, then capped at 500 steps; here at today's 1000), to show why it is not
  the default;
- `gmres`: `hj.GMRESAdjoint()`;
- `rbp`, `rbp-unrolled`: the papers' recurrent backprop with K = 8 / 16 / 24 steps, at
  the solution and unrolled through map calls (`hopjax train`'s default);
- `unrolled`: backprop through every forward iteration.

Each is compared with a reference on the same forward solve: GMRES to a tight tolerance
(rtol 1e-7, restart 50; its own relative residual is recorded), in the model's dtype.
Reported: relative error |g - g_ref| / |g_ref|, the cosine between them, how many samples'
adjoint was reported not converged (`hj.AdjointNonConvergenceWarning`), and the median
wall time of the jit-compiled loss-and-gradient (forward solve included, so the forward
time is the `forward ms` column's). The forward solve is the papers' Anderson (rtol 1e-4)
with up to --max-steps steps (1000): far more than the papers' caps, since at
initialisation the 5- and 7-layer HAMs need 130-230 steps on average (with 200, 16-48 %
of test images stop short), and the backward modes are to be compared at equilibria.

    python benchmarks/backward.py                      # ~15 minutes on a 2-core CPU
    python benchmarks/backward.py --rows ham3 --updates even_odd --batch 256

Prints a table; writes it and the numbers to benchmarks/results/backward-<backend>.{md,json}
(or <out>.{md,json} for --out <out>), rewritten after every network (a run cut short keeps them).
"""

import argparse
import json
import os
import pathlib
import warnings

import equinox as eqx
import jax
import jax.numpy as jnp
from jax.flatten_util import ravel_pytree
from tqdm.auto import tqdm

import hopjax as hj
from hopjax.data import DEBIAN_FASHION_MNIST, load_idx_split
from hopjax.train import loss_and_accuracy, TrainConfig

from _gradient_agreement import gradient_agreement
from _machine import machine
from _options import beside, interrupt_says, load_or_exit, once_each, positive_int, results_base, seed_int, write_whole
from _table2_rows import ROWS
from _timing import median_time


RESULTS = pathlib.Path(__file__).parent / "results"
UPDATES = ("synchronous", "even_odd")
MODES = {
    "fixed-point": lambda steps: hj.FixedPointAdjoint(),
    "fixed-point-safeguarded": lambda steps: hj.FixedPointAdjoint(
        solver=hj.Anderson(rtol=1e-6, atol=0.0, safeguard=True)),
    "gmres": lambda steps: hj.GMRESAdjoint(),
    "rbp": lambda steps: hj.RecurrentBackprop(steps),
    "rbp-unrolled": lambda steps: hj.UnrolledRecurrentBackprop(steps),
    "unrolled": lambda steps: hj.UnrolledBackprop(),
}
"""name -> the backward mode, given the papers' recurrent-backprop steps K."""
REFERENCE = hj.GMRESAdjoint(rtol=1e-7, atol=0.0, restart=50, max_steps=2000)


def median_ms(fn, *args, repeats):
    """`median_time` in ms, silent: a backward pass that warns has been counted by
    `unsolved_samples` already."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", hj.AdjointNonConvergenceWarning)
        return 1e3 * median_time(fn, *args, repeats=repeats)


def gradient_function(x, labels, options):
    """The jit-compiled `model -> (loss, flat parameter gradient)` under `options`."""

    @eqx.filter_jit
    def loss_and_gradient(model):
        loss = lambda m: loss_and_accuracy(m, x, labels, options)[0]
        value, grads = eqx.filter_value_and_grad(loss)(model)
        return value, ravel_pytree(eqx.filter(grads, eqx.is_inexact_array))[0]

    return loss_and_gradient


def unsolved_samples(fn, model) -> tuple[jax.Array, int]:
    """`fn(model)`'s gradient and how many samples its backward pass reported
    not converged (`hopjax.count_adjoint_failures`), silently."""
    with warnings.catch_warnings(), hj.count_adjoint_failures() as count:
        warnings.simplefilter("ignore", hj.AdjointNonConvergenceWarning)
        _, gradient = jax.block_until_ready(fn(model))
    return gradient, count.failed


def compare(row, update, model, x, labels, args, progress) -> list[dict]:
    """The rows of one network x update scheme: every mode against the reference."""
    config = TrainConfig(model=ROWS[row][0], layer_sizes=ROWS[row][1], update=update)
    forward = dict(config.solve_options(backward=False), max_steps=args.max_steps)
    steps = config.resolved_backward_steps
    equilibrium = eqx.filter_jit(lambda m: hj.solve(m, x, **forward))(model)
    forward_ms = median_ms(eqx.filter_jit(lambda m: hj.solve(m, x, **forward).output), model,
                           repeats=args.repeats)
    reference, reference_failed = unsolved_samples(
        gradient_function(x, labels, dict(forward, backward=REFERENCE)), model)
    results = []
    for mode in args.modes:
        progress.set_postfix_str(f"{row} {update} {mode}")
        fn = gradient_function(x, labels, dict(forward, backward=MODES[mode](steps)))
        gradient, failed = unsolved_samples(fn, model)
        agreement = gradient_agreement(gradient, reference)
        results.append({
            "row": row, "layers": list(ROWS[row][1]), "update": update, "mode": mode,
            "rbp_steps": steps if mode.startswith("rbp") else None,
            "relative_error": agreement["relative_error"],
            "cosine": agreement["cosine"],
            "unsolved_samples": failed,
            "gradient_ms": median_ms(fn, model, repeats=args.repeats),
            "forward_ms": forward_ms,
            "forward_converged": float(jnp.mean(equilibrium.converged)),
            "forward_mean_steps": float(jnp.mean(equilibrium.num_steps)),
            "reference_unsolved_samples": reference_failed,
        })
        progress.update()
    return results


def markdown(results, batch) -> str:
    """The results as a Markdown table."""
    head = (f"| network | update | forward converged (mean steps) | backward mode | rel. error vs GMRES "
            f"(rtol 1e-7) | cosine | adjoint unsolved (of {batch}) | loss+grad ms | forward ms |")
    lines = [head, "|---" * (head.count("|") - 1) + "|"]
    for r in results:
        mode = r["mode"] + (f" (K={r['rbp_steps']})" if r["rbp_steps"] else "")
        lines.append(
            f"| {r['row']} | {r['update']} | {100 * r['forward_converged']:.0f} % "
            f"({r['forward_mean_steps']:.1f}) | {mode} "
            f"| {r['relative_error']:.1e} | {r['cosine']:.6f} | {r['unsolved_samples']} "
            f"| {r['gradient_ms']:.1f} | {r['forward_ms']:.1f} |")
    return "\n".join(lines) + "\n"


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", nargs="+", default=list(ROWS), choices=list(ROWS))
    parser.add_argument("--updates", nargs="+", default=list(UPDATES), choices=UPDATES)
    parser.add_argument("--modes", nargs="+", default=list(MODES), choices=list(MODES))
    parser.add_argument("--batch", type=positive_int, default=64, help="test images")
    parser.add_argument("--max-steps", type=positive_int, default=1000,
                        help="forward cap (default 1000, beyond the papers' 40 / 80 / 120)")
    parser.add_argument("--repeats", type=positive_int, default=5, help="timed repeats (median)")
    parser.add_argument("--seed", type=seed_int, default=0, help="initialisation (TrainConfig's model key)")
    parser.add_argument("--data-dir", default=os.environ.get("HOPJAX_DATA_DIR", DEBIAN_FASHION_MNIST))
    parser.add_argument("--out", type=pathlib.Path, default=None,
                        help="results path: writes <out>.json and <out>.md (default results/backward-<backend>)")
    args = parser.parse_args()
    once_each(parser, args, "rows", "updates", "modes")
    out = results_base(parser, args.out or RESULTS / f"backward-{jax.default_backend()}")
    images, labels = load_or_exit(load_idx_split, args.data_dir, "test")
    x, labels = jnp.asarray(images[: args.batch]), jnp.asarray(labels[: args.batch])
    record = {"backend": jax.default_backend(), "machine": machine(), "batch": int(x.shape[0]),
              "max_steps": args.max_steps, "repeats": args.repeats, "seed": args.seed,
              "reference": "hj.GMRESAdjoint(rtol=1e-7, atol=0, restart=50, max_steps=2000)"}
    results = []
    cells = [(row, update) for row in args.rows for update in args.updates]
    kept = lambda: (f"the results of the networks x updates compared so far "
                    f"({len(results) // len(args.modes)} of {len(cells)}) are in "
                    f"{beside(out, '.json')}" if results else "nothing was written")
    with interrupt_says(kept), tqdm(total=len(cells) * len(args.modes), desc="backward modes") as progress:
        for row, update in cells:
            config = TrainConfig(model=ROWS[row][0], layer_sizes=ROWS[row][1], seed=args.seed)
            model = config.make_model(config.keys()[0])  # as `hopjax train` initialises it
            results += compare(row, update, model, x, labels, args, progress)
            write_whole(beside(out, ".json"), json.dumps(dict(record, results=results), indent=1) + "\n")
    table = markdown(results, int(x.shape[0]))
    print(table, end="")
    write_whole(beside(out, ".md"), table)
    print(f"wrote {beside(out, '.md')} and .json")


if __name__ == "__main__":
    main()
