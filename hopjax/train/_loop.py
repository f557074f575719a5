"""The epoch loop: shuffled batches, the compiled step, per-epoch evaluation, JSON-lines
metrics and checkpoints that resume exactly."""

import json
import pathlib
import tempfile
import time
from collections.abc import Callable
from typing import Any

import jax
import jax.numpy as jnp
from tqdm.auto import tqdm

from .._adjoint import solves_adjoint
from .._checks import check_flag, check_path, check_positive_int, is_count, naming_os_errors
from .._nonconvergence import count_adjoint_failures
from ..data import batch_indices, check_dataset, Dataset, load_dataset
from ..parallel import data_parallel_mesh, shard_batch
from ._checkpoint import (
    CHECKPOINT,
    CheckpointError,
    load_checkpoint,
    replaced_atomically,
    save_checkpoint,
)
from ._config import check_config, TrainConfig
from ._evaluate import check_labels_fit, evaluate
from ._step import make_train_step


METRICS = "metrics.jsonl"


def load_data(config: TrainConfig) -> Dataset:
    """The run's data set ([`hopjax.data.load_dataset`][] with `config.dataset` and
    `config.data_dir`), cut to `train_examples` / `test_examples` if set.

    **Arguments:**

    - `config`: a [`hopjax.train.TrainConfig`][].

    **Returns:** a [`hopjax.data.Dataset`][].
    """
    data = load_dataset(config.dataset, data_dir=config.data_dir)
    return data.subset(config.train_examples, config.test_examples)


def check_data_fits(config: TrainConfig, data: Dataset) -> None:
    """Raise `ValueError` unless `data`'s images are as wide as the input layer, its
    labels index the output layer's units (one unit per class), and its training split
    fills at least one batch."""
    pixels = data.train_images.shape[1]
    if pixels != config.layer_sizes[0] or data.test_images.shape[1] != pixels:
        raise ValueError(
            f"The images have {pixels} (training) and {data.test_images.shape[1]} (test) "
            f"pixels, but the input layer (layer_sizes[0]) has {config.layer_sizes[0]}."
        )
    check_labels_fit(config.layer_sizes[-1], data.train_labels, data.test_labels)
    if len(data.train_images) < config.batch_size:
        raise ValueError(
            f"{len(data.train_images)} training examples do not fill one batch of "
            f"{config.batch_size}."
        )


def _read_history(path: pathlib.Path, epochs: int) -> list[dict[str, Any]]:
    """The metrics of epochs 1..`epochs` (the checkpoint's), which must all be there."""
    try:
        lines = [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
        history = [line for line in lines if line["epoch"] <= epochs]
    except (OSError, ValueError, KeyError, TypeError) as error:
        raise CheckpointError(f"{path} cannot be read ({error}).") from error
    if [line["epoch"] for line in history] != list(range(1, epochs + 1)):
        raise CheckpointError(
            f"{path} holds epochs {[line['epoch'] for line in history]}, but the checkpoint "
            f"is at epoch {epochs}: the metrics of epochs 1-{epochs} are needed to resume."
        )
    return history


def _write_history(path: pathlib.Path, history: list[dict[str, Any]]) -> None:
    """Rewrite `metrics.jsonl` atomically (a temporary file renamed over it)."""
    with replaced_atomically(path) as f:
        f.write("".join(json.dumps(line) + "\n" for line in history).encode())


def train(
    config: TrainConfig,
    out_dir: str | pathlib.Path | None = None,
    *,
    resume: bool = False,
    stop_after: int | None = None,
    data: Dataset | None = None,
    progress: bool = True,
    on_epoch_end: Callable[[dict[str, Any]], None] | None = None,
) -> tuple[Any, list[dict[str, Any]]]:
    """Train `config`'s model; returns `(model, history)` (one metrics dict per epoch).

    Each epoch shuffles the training set with `fold_in(data_key, epoch)`, runs the
    compiled step on every full batch, then evaluates on the test set. With `out_dir`,
    each epoch appends a line to `metrics.jsonl` and rewrites `checkpoint.eqx`;
    `resume=True` continues from that checkpoint and gives the same numbers as an
    uninterrupted run. `stop_after` ends this call after that many epochs (to split a
    long run into jobs). `on_epoch_end(record)` is called with each epoch's metrics
    (e.g. to log them elsewhere). With several devices (and a batch size they divide),
    every batch is split over all of them ([`hopjax.parallel`][]).

    **Arguments:**

    - `config`: the run's [`hopjax.train.TrainConfig`][].
    - `out_dir`: the run directory (created if needed); `None` keeps nothing on disk.
        A directory that already holds a run is refused unless `resume=True`.
    - `resume`: continue from `out_dir/checkpoint.eqx`, whose settings and data must
        match `config` and `data` (else [`hopjax.train.CheckpointError`][]).
    - `stop_after`: end this call after that many epochs, a positive integer (default:
        run to `config.epochs`); with `resume=True` also 0, which trains nothing and
        returns the checkpoint's model and history (e.g. to reuse a finished run).
    - `data`: a [`hopjax.data.Dataset`][] to use instead of loading `config.dataset`
        (checked with [`hopjax.data.check_dataset`][], then cut to `train_examples` /
        `test_examples` as a loaded one is; array-likes are taken as NumPy arrays).
    - `progress`: show progress bars (live loss, accuracy, iterations).
    - `on_epoch_end`: called with each epoch's metrics dict.

    **Returns:** `(model, history)`: the trained model and one dict per epoch (epoch,
    learning rate, training loss / accuracy / steps / papers' iterations / converged
    fraction, fraction of training samples whose adjoint was reported unsolved
    ([`hopjax.count_adjoint_failures`][]; `None` for the unrolled backward modes, which
    solve none), test accuracy, test iterations, not-converged fraction, training and
    evaluation time), the same lines as `metrics.jsonl`.

    **Raises:** [`hopjax.train.CheckpointError`][] as above; `ValueError` (or
    `TypeError`) for malformed data (see [`hopjax.data.check_split`][]) and for data
    that does not fit the network (image width against the input layer, labels against
    the output layer) or does not fill one batch.
    """
    check_config("train", config)
    check_flag("resume", resume)
    if is_count(stop_after, minimum=0) and stop_after == 0:
        if not resume:
            raise ValueError(
                "stop_after must be a positive integer, got 0 (0, which trains nothing, "
                "is taken only with resume=True, to reuse a run's checkpoint)."
            )
        stop_after = 0  # a finished run reused: its model and history, no epoch trained
    else:
        stop_after = check_positive_int("stop_after", stop_after, allow_none=True)
    check_flag("progress", progress)
    out = None if out_dir is None else check_path("train: out_dir", out_dir)
    if out is not None:
        if out.exists() and not out.is_dir():
            raise NotADirectoryError(f"{out} is a file, not a run directory (out_dir, --out).")
        if (out / CHECKPOINT).exists() and not resume:
            raise CheckpointError(
                f"{out} already holds a run ({CHECKPOINT}); pass resume=True (--resume) "
                "to continue it, or choose another output directory."
            )
        if resume and not (out / CHECKPOINT).exists():
            raise CheckpointError(f"Nothing to resume: no {CHECKPOINT} in {out}.")
    data = load_data(config) if data is None else check_dataset(data).subset(
        config.train_examples, config.test_examples
    )
    check_data_fits(config, data)
    fingerprint = None  # only a run directory records and checks it
    if out is not None:
        with naming_os_errors(
            f"Cannot create the run directory {out}, or write in it",
            "Give a directory that can be written (out_dir, --out).",
        ):
            out.mkdir(parents=True, exist_ok=True)
            tempfile.TemporaryFile(dir=out).close()  # read-only: said now, not after an epoch
        fingerprint = data.fingerprint()
    num_train = len(data.train_images)
    steps_per_epoch = num_train // config.batch_size
    schedule = config.make_schedule(steps_per_epoch)
    model, optimiser, opt_state, data_key = config.initial_state(steps_per_epoch)
    start_epoch, history = 0, []
    if resume:
        _, start_epoch, model, opt_state, data_key = load_checkpoint(
            out / CHECKPOINT, (model, opt_state, data_key), config, data=fingerprint
        )
        history = _read_history(out / METRICS, start_epoch)
    mesh = None
    if len(jax.devices()) > 1 and config.batch_size % len(jax.devices()) == 0:
        mesh = data_parallel_mesh()  # split every batch over all devices
    train_options = config.solve_options()
    step = make_train_step(optimiser, mesh=mesh, **train_options)
    reports_adjoint = solves_adjoint(train_options["backward"])  # else no count to record
    eval_options = config.solve_options(backward=False)
    images = jnp.asarray(data.train_images)
    labels = jnp.asarray(data.train_labels)
    last = config.epochs if stop_after is None else min(config.epochs, start_epoch + stop_after)
    epochs_bar = tqdm(
        range(start_epoch, last), desc="epochs", unit="epoch", disable=not progress,
        initial=start_epoch, total=config.epochs,
    )
    for epoch in epochs_bar:
        batches = batch_indices(
            num_train, config.batch_size, jax.random.fold_in(data_key, epoch)
        )
        totals, start = None, time.perf_counter()
        bar = tqdm(batches, desc=f"epoch {epoch + 1}", unit="batch", leave=False, disable=not progress)
        with count_adjoint_failures() as adjoint:
            for i, index in enumerate(bar):
                batch = (images[index], labels[index])
                if mesh is not None:
                    batch = shard_batch(batch, mesh)
                model, opt_state, metrics = step(model, opt_state, *batch)
                totals = metrics if totals is None else jax.tree.map(jnp.add, totals, metrics)
                if progress and (i % 25 == 0 or i == len(batches) - 1):
                    bar.set_postfix(_means(totals, i + 1, short=True))
        train_metrics = _means(totals, len(batches))
        train_time = time.perf_counter() - start
        report = evaluate(model, data.test_images, data.test_labels, eval_options)
        record = {
            "epoch": epoch + 1,
            "learning_rate": float(schedule(epoch * steps_per_epoch)),
            **{f"train_{k}": v for k, v in train_metrics.items()},
            "train_adjoint_not_converged": (
                adjoint.failed / (len(batches) * config.batch_size)
                if reports_adjoint else None
            ),
            "test_accuracy": report["accuracy"],
            "test_paper_iterations": report["paper_iterations"]["mean"],
            "test_steps": report["steps"]["mean"],
            "test_not_converged": report["not_converged"],
            "train_time_s": train_time,
            "eval_time_s": report["wall_time_s"],
        }
        history.append(record)
        epochs_bar.set_postfix(
            test_acc=f"{record['test_accuracy']:.4f}",
            iters=f"{record['test_paper_iterations']:.2f}",
            **({"adjoint_unsolved": adjoint.failed} if adjoint.failed else {}),
        )
        if out is not None:
            _write_history(out / METRICS, history)
            save_checkpoint(
                out / CHECKPOINT, config, epoch + 1, model, opt_state, data_key,
                data=fingerprint,
            )
        if on_epoch_end is not None:
            on_epoch_end(record)
    return model, history


def _means(totals, count: int, short: bool = False) -> dict[str, float]:
    means = {k: float(v) / count for k, v in totals.items()}
    if short:
        return {
            "loss": f"{means['loss']:.4f}",
            "acc": f"{means['accuracy']:.3f}",
            "iters": f"{means['steps']:.1f}",
        }
    return means
