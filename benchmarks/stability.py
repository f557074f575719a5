"""Are a trained network's equilibria stable, and what does that do to its gradients?

For each `hopjax train` run directory, on the first --test-examples test images:

- how many converge with the run's own solver and cap (as evaluation counts);
- the equilibria, found by Anderson with up to --steps steps, and the spectral radius
  rho of the iterated map's Jacobian at each (`hj.spectral_radius`);
- whether Picard iteration on the same map converges within --steps, against rho < 1
  (Picard can only converge to an equilibrium with rho <= 1; near 1 it needs many
  steps);
- the parameter gradient of the papers' loss on that batch under the recurrent-backprop
  forms (the papers' unrolled one and the one frozen at the solution, K steps as
  trained) against the exact implicit gradient (GMRES): cosine and norm ratio.

    python benchmarks/stability.py benchmarks/results/table2-runs/chn3-sync-anderson-seed0-epoch4

Prints a table; writes it and the numbers to benchmarks/results/stability.{md,json} (or
<out>.{md,json} for --out <out>).
"""

import argparse
import json
import pathlib

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
from tqdm.auto import tqdm

import hopjax as hj
from hopjax.train import load_run_data, load_trained_model, loss_and_accuracy

from _gradient_agreement import gradient_agreement
from _machine import machine
from _options import beside, interrupt_says, load_or_exit, positive_int, results_base, write_whole


RESULTS = pathlib.Path(__file__).parent / "results"


def flat_gradient(model, x, labels, options):
    """The parameter gradient of the papers' loss, as one vector."""
    grads = eqx.filter_grad(lambda m: loss_and_accuracy(m, x, labels, options)[0])(model)
    leaves = jax.tree.leaves(eqx.filter(grads, eqx.is_inexact_array))
    return jnp.concatenate([leaf.ravel() for leaf in leaves])


def radius_summary(radius: np.ndarray) -> dict:
    """Median, min, max and the fraction above 1 (all None if there is none)."""
    if not radius.size:
        return dict.fromkeys(("median", "min", "max", "above_one"))
    return {"median": float(np.median(radius)), "min": float(radius.min()),
            "max": float(radius.max()), "above_one": float(np.mean(radius > 1))}


def load_run(run: pathlib.Path, args):
    """A run's `(config, epoch, model, data)`: its checkpoint and test images (its own
    data, checked)."""
    config, epoch, model = load_trained_model(
        run, test_examples=args.test_examples, train_examples=1,
        **({"data_dir": args.data_dir} if args.data_dir else {}),
    )
    return config, epoch, model, load_run_data(run, config)


def analyse(run: pathlib.Path, config, epoch, model, data, args) -> dict:
    x, labels = jnp.asarray(data.test_images), jnp.asarray(data.test_labels)
    options = config.solve_options(backward=False)
    own = np.asarray(hj.solve(model, x, **options).converged)
    long = dict(options, max_steps=args.steps)
    eq = hj.solve(model, x, **dict(long, solver=hj.Anderson()))
    radius = np.asarray(hj.spectral_radius(model, x, eq.states, update=config.update))
    converged = np.asarray(eq.converged)
    picard_converged = np.asarray(hj.solve(model, x, **dict(long, solver=hj.Picard())).converged)
    exact = flat_gradient(model, x, labels, dict(options, backward=hj.GMRESAdjoint()))
    steps = config.resolved_backward_steps
    gradients = {}
    for name, backward in (("rbp-unrolled", hj.UnrolledRecurrentBackprop(steps)),
                           ("rbp", hj.RecurrentBackprop(steps))):
        gradient = flat_gradient(model, x, labels, dict(options, backward=backward))
        agreement = gradient_agreement(gradient, exact)
        gradients[name] = {
            "cosine_vs_exact": agreement["cosine"],
            "norm_ratio_vs_exact": agreement["norm_ratio"],
        }
    solved = radius[converged]  # only where Anderson found an equilibrium
    return {
        "run": str(run), "epoch": epoch, "samples": int(x.shape[0]),
        "model": config.model, "layers": list(config.layer_sizes), "update": config.update,
        "solver": config.solver, "backward": config.backward, "backward_steps": steps,
        "converged_own_solver": float(own.mean()),
        "steps": args.steps,
        "anderson_converged": float(converged.mean()),
        "radius": radius_summary(solved),
        "picard_converged": float(picard_converged.mean()),
        "picard_agrees_with_radius": float(
            np.mean(picard_converged[converged] == (solved < 1))) if solved.size else None,
        "gradients": gradients,
    }


def percent(value) -> str:
    return "-" if value is None else f"{100 * value:.0f} %"


def markdown(results, steps) -> str:
    head = ("| run | trained with | epoch | converged (own solver, cap) | Anderson / Picard "
            f"converged (<= {steps} steps) | rho median [min, max] | rho > 1 | Picard "
            "converged iff rho < 1 | cos(rbp-unrolled, exact) | cos(rbp, exact) "
            "| norm rbp / exact |")
    lines = [head, "|---" * head.count(" | ") + "|---|"]
    for r in results:
        rho, g = r["radius"], r["gradients"]
        spread = ("-" if rho["median"] is None
                  else f"{rho['median']:.2f} [{rho['min']:.2f}, {rho['max']:.2f}]")
        lines.append(" | ".join([
            f"| {pathlib.Path(r['run']).name}", r["backward"], str(r["epoch"]),
            percent(r["converged_own_solver"]),
            f"{100 * r['anderson_converged']:.0f} / {100 * r['picard_converged']:.0f} %",
            spread, percent(rho["above_one"]), percent(r["picard_agrees_with_radius"]),
            f"{g['rbp-unrolled']['cosine_vs_exact']:.3f}", f"{g['rbp']['cosine_vs_exact']:.3f}",
            f"{g['rbp']['norm_ratio_vs_exact']:.3g} |",
        ]))
    return "\n".join(lines) + "\n"


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("runs", nargs="+", type=pathlib.Path, help="hopjax train run directories")
    parser.add_argument("--test-examples", type=positive_int, default=256)
    parser.add_argument("--steps", type=positive_int, default=2000)
    parser.add_argument("--data-dir", default=None)
    parser.add_argument("--out", type=pathlib.Path, default=RESULTS / "stability",
                        help="results path: writes <out>.md and <out>.json (a .json ending is dropped)")
    args = parser.parse_args()
    args.out = results_base(parser, args.out)
    with interrupt_says(lambda: f"nothing was written ({beside(args.out, '.md')} and .json are "
                                "written when every run is analysed)"):
        loaded = [load_or_exit(load_run, run, args) for run in args.runs]  # all, before any analysis
        results = [analyse(run, *run_loaded, args) for run, run_loaded in tqdm(
            list(zip(args.runs, loaded)), desc="runs", unit="run")]
    table = markdown(results, args.steps)
    print(table, end="")
    write_whole(beside(args.out, ".md"), table)
    write_whole(beside(args.out, ".json"), json.dumps(
        {"backend": jax.default_backend(), "machine": machine(), "results": results}, indent=2) + "\n")
    print(f"wrote {beside(args.out, '.md')} and .json")


if __name__ == "__main__":
    main()
