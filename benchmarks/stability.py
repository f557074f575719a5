"""Are a trained network's equilibria stable, and what does that do to its gradients?

For each `hopjax train` run directory, on the first --test-examples test images:

- the equilibria the run's own solver finds (as evaluation does), and the spectral
  radius rho of the iterated map's Jacobian at each (`hj.spectral_radius`);
- whether Picard iteration on the same map converges, within the run's cap and within
  --picard-steps, against rho < 1 (Picard can only converge to an equilibrium with
  rho <= 1; near 1 it needs many steps);
- the parameter gradient of the papers' loss on that batch under the recurrent-backprop
  forms (the papers' unrolled one and the one frozen at the solution, K steps as
  trained) against the exact implicit gradient (GMRES): cosine and norm ratio.

    python benchmarks/stability.py benchmarks/results/table2-runs/chn3-sync-anderson-seed0-epoch4

Prints a table; writes benchmarks/results/stability.json (or --out).
"""

import argparse
import json
import pathlib

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np

import hopjax as hj
from hopjax.train import load_data, load_trained_model, loss_and_accuracy


RESULTS = pathlib.Path(__file__).parent / "results"


def flat_gradient(model, x, labels, options):
    """The parameter gradient of the papers' loss, as one vector."""
    grads = eqx.filter_grad(lambda m: loss_and_accuracy(m, x, labels, options)[0])(model)
    leaves = jax.tree.leaves(eqx.filter(grads, eqx.is_inexact_array))
    return jnp.concatenate([leaf.ravel() for leaf in leaves])


def analyse(run: pathlib.Path, args) -> dict:
    config, epoch, model = load_trained_model(
        run, test_examples=args.test_examples, train_examples=1,
        **({"data_dir": args.data_dir} if args.data_dir else {}),
    )
    data = load_data(config)
    x, labels = jnp.asarray(data.test_images), jnp.asarray(data.test_labels)
    options = config.solve_options(backward=False)
    eq = hj.solve(model, x, **options)
    radius = np.asarray(hj.spectral_radius(model, x, eq.states, update=config.update))
    converged = np.asarray(eq.converged)
    picard_within_cap = np.asarray(hj.solve(model, x, **dict(options, solver=hj.Picard())).converged)
    picard_converged = np.asarray(hj.solve(
        model, x, **dict(options, solver=hj.Picard(), max_steps=args.picard_steps)).converged)
    exact = flat_gradient(model, x, labels, dict(options, backward=hj.GMRESAdjoint()))
    steps = config.resolved_backward_steps
    gradients = {}
    for name, backward in (("rbp-unrolled", hj.UnrolledRecurrentBackprop(steps)),
                           ("rbp", hj.RecurrentBackprop(steps))):
        g = flat_gradient(model, x, labels, dict(options, backward=backward))
        gradients[name] = {
            "cosine_vs_exact": float(g @ exact / (jnp.linalg.norm(g) * jnp.linalg.norm(exact))),
            "norm_ratio_vs_exact": float(jnp.linalg.norm(g) / jnp.linalg.norm(exact)),
        }
    solved = radius[converged]
    return {
        "run": str(run), "epoch": epoch, "samples": int(x.shape[0]),
        "model": config.model, "layers": list(config.layer_sizes), "update": config.update,
        "solver": config.solver, "backward_steps": steps,
        "converged": float(converged.mean()),
        "radius": {
            "median": float(np.median(solved)) if solved.size else None,
            "min": float(solved.min()) if solved.size else None,
            "max": float(solved.max()) if solved.size else None,
            "above_one": float(np.mean(solved > 1)) if solved.size else None,
        },
        "picard_converged_within_cap": float(picard_within_cap.mean()),
        "picard_steps": args.picard_steps,
        "picard_converged": float(picard_converged.mean()),
        "picard_agrees_with_radius": float(
            np.mean(picard_converged[converged] == (solved < 1))) if solved.size else None,
        "gradients": gradients,
    }


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("runs", nargs="+", type=pathlib.Path, help="hopjax train run directories")
    parser.add_argument("--test-examples", type=int, default=256)
    parser.add_argument("--picard-steps", type=int, default=2000)
    parser.add_argument("--data-dir", default=None)
    parser.add_argument("--out", type=pathlib.Path, default=RESULTS / "stability.json")
    args = parser.parse_args()
    results = [analyse(run, args) for run in args.runs]
    print(f"| run | epoch | converged | rho median [min, max] | rho > 1 | Picard converged "
          f"(run's cap / {args.picard_steps}) | Picard converged iff rho < 1 "
          "| cos(rbp-unrolled, exact) | cos(rbp, exact) | norm rbp / exact |")
    print("|---" * 10 + "|")
    for r in results:
        rho, g = r["radius"], r["gradients"]
        spread = (f"{rho['median']:.2f} [{rho['min']:.2f}, {rho['max']:.2f}]"
                  if rho["median"] is not None else "-")
        above = f"{100 * rho['above_one']:.0f} %" if rho["above_one"] is not None else "-"
        agree = (f"{100 * r['picard_agrees_with_radius']:.0f} %"
                 if r["picard_agrees_with_radius"] is not None else "-")
        print(f"| {pathlib.Path(r['run']).name} | {r['epoch']} | {100 * r['converged']:.0f} % "
              f"| {spread} | {above} | {100 * r['picard_converged_within_cap']:.0f} / "
              f"{100 * r['picard_converged']:.0f} % | {agree} "
              f"| {g['rbp-unrolled']['cosine_vs_exact']:.3f} | {g['rbp']['cosine_vs_exact']:.3f} "
              f"| {g['rbp']['norm_ratio_vs_exact']:.3g} |")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps({"backend": jax.default_backend(), "results": results},
                                   indent=2) + "\n")
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
