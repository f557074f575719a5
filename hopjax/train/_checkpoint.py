"""Checkpoints: model, optimiser state, epoch and data RNG key, with the run's settings.

File layout: one JSON header line (format, settings, epoch, and the data's
fingerprint) followed by
Equinox's `tree_serialise_leaves` of `(model, opt_state, data_key_data)`. Loading
rebuilds the pytree structure from the settings, so a checkpoint written for other
settings, or a damaged file, is reported instead of loaded. A trained run is read back
for evaluation as its model (`load_trained_model`) and its own data (`load_run_data`,
checked against the recorded fingerprint).
"""

import contextlib
import dataclasses
import json
import os
import pathlib

import equinox as eqx
import jax

from .._checks import check_path, is_count
from ..data import Dataset, load_dataset
from ._config import check_config, TrainConfig


FORMAT = "hopjax-checkpoint-1"
CHECKPOINT = "checkpoint.eqx"
"""The checkpoint's file name in a run directory."""
MODEL_SETTINGS = ("model", "layer_sizes")
"""Settings that fix the saved model's structure, which loading never changes."""
RESUMABLE_DIFFERENCES = frozenset({"data_dir"})
"""Settings that may differ between a run and its resumption: the data may move, and
the data's fingerprint (when recorded) checks that it is the same."""


class CheckpointError(ValueError):
    """A checkpoint cannot be read, or belongs to a different run (also raised by
    [`hopjax.train.train`][] for an output directory that already holds a run, or has
    nothing to resume). The message says which and why."""


def save_checkpoint(
    path, config: TrainConfig, epoch: int, model, opt_state, data_key, *, data=None
):
    """Write a checkpoint to `path`, atomically (a temporary file renamed over `path`).

    **Arguments:**

    - `path`: the file to write (conventionally `checkpoint.eqx` in the run directory).
    - `config`: the run's [`hopjax.train.TrainConfig`][], stored in the header.
    - `epoch`: the number of epochs completed.
    - `model`, `opt_state`: the model and the optimiser state.
    - `data_key`: the data-shuffling PRNG key (typed key).
    - `data`: the data's [`hopjax.data.Dataset.fingerprint`][] (split sizes and a
        SHA-256), recorded so that resuming on other data is refused; optional.

    **Raises:** `TypeError` for a `config` that is not a `TrainConfig`, `ValueError` for
    an `epoch` that is not an integer >= 0 (nothing is written then).
    """
    path = check_path("save_checkpoint: path", path)
    check_config("save_checkpoint", config)
    if not is_count(epoch, minimum=0):
        raise ValueError(f"save_checkpoint: epoch must be an integer >= 0, got {epoch!r}.")
    header = {"format": FORMAT, "config": config.to_dict(), "epoch": int(epoch)}
    if data is not None:
        header["data"] = data
    with replaced_atomically(path) as f:
        f.write((json.dumps(header) + "\n").encode())
        eqx.tree_serialise_leaves(f, (model, opt_state, jax.random.key_data(data_key)))


@contextlib.contextmanager
def replaced_atomically(path: pathlib.Path):
    """A binary file handle whose contents replace `path` in one rename once the block
    ends without error, so a killed run never leaves a half-written file; if the block
    raises, `path` is left as it was and the temporary file removed."""
    tmp = path.with_name(path.name + ".tmp")
    try:
        with open(tmp, "wb") as f:
            yield f
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)  # gone after the rename; removed if the block raised


def read_header(path) -> dict:
    """Read a checkpoint's JSON header without loading its arrays.

    **Arguments:**

    - `path`: the checkpoint file.

    **Returns:** a dict with `"format"`, `"epoch"`, `"config"` (a
    [`hopjax.train.TrainConfig`][]) and, if recorded, `"data"` (the data's fingerprint).

    **Raises:** [`hopjax.train.CheckpointError`][] if there is no file or it is not a
    hopjax checkpoint (wrong format, malformed settings, or an epoch that is not an
    integer >= 0).
    """
    path = check_path("read_header: path", path)
    if not path.is_file():
        raise CheckpointError(f"No checkpoint at {path}.")
    try:
        with open(path, "rb") as f:
            header = json.loads(f.readline())
        if header.get("format") != FORMAT:
            raise ValueError(f"format {header.get('format')!r}, expected {FORMAT!r}")
        if not is_count(header.get("epoch"), minimum=0):
            raise ValueError(f"epoch {header.get('epoch')!r}, expected an integer >= 0")
        header["config"] = TrainConfig.from_dict(header["config"])
    except (ValueError, KeyError, TypeError, AttributeError) as error:
        raise CheckpointError(f"{path} is not a hopjax checkpoint ({error}).") from error
    return header


def load_checkpoint(path, like, config: TrainConfig | None = None, data=None):
    """Read the checkpoint at `path` into the structure of `like`.

    **Arguments:**

    - `path`: the checkpoint file.
    - `like`: `(model, opt_state, data_key)` of the right structure, shapes and dtypes,
        e.g. the model, optimiser state and key that
        [`hopjax.train.TrainConfig`][]`.initial_state` returns.
    - `config`: if given, the checkpoint's settings must equal it, except `data_dir`.
    - `data`: if given, a [`hopjax.data.Dataset.fingerprint`][] that must equal the one
        recorded in the checkpoint (checkpoints without one are not checked).

    **Returns:** `(config, epoch, model, opt_state, data_key)` as saved.

    **Raises:** [`hopjax.train.CheckpointError`][] for a missing, damaged or foreign
    file, or one written with other settings or data (naming the differences).
    """
    header = read_header(path)
    saved = header["config"]
    if config is not None:
        _refuse_differences(path, "settings", saved.to_dict(), config.to_dict(),
                            ignore=RESUMABLE_DIFFERENCES)
    if data is not None and "data" in header:
        _refuse_differences(path, "data", header["data"], data)
    model, opt_state, data_key = like
    template = (model, opt_state, jax.random.key_data(data_key))
    try:
        with open(path, "rb") as f:
            f.readline()
            model, opt_state, key_data = eqx.tree_deserialise_leaves(f, template)
            extra = len(f.read())
    except Exception as error:  # truncated file, shape or dtype mismatch, ...
        raise CheckpointError(
            f"{path} could not be read: {type(error).__name__}: {error}"
        ) from error
    if extra:
        raise CheckpointError(
            f"{path} could not be read: {extra} bytes follow the arrays its settings "
            "describe (a damaged file, or two files joined)."
        )
    return saved, header["epoch"], model, opt_state, jax.random.wrap_key_data(key_data)


def _refuse_differences(path, what: str, theirs: dict, ours: dict, ignore=frozenset()):
    different = [k for k in ours if ours[k] != theirs.get(k) and k not in ignore]
    if different:
        details = ", ".join(f"{k}: {theirs.get(k)!r} vs {ours[k]!r}" for k in different)
        why = (
            " The learning rate decays over the run's epochs (to 1/10 at the last), so a "
            "run cannot be extended to more epochs." if "epochs" in different else ""
        )
        raise CheckpointError(
            f"{path} was written by a run with other {what} ({details}); resume "
            f"with the same {what}, or start a new output directory.{why}"
        )


def load_trained_model(path, **changes):
    """The trained model of a run, with its settings: what evaluation and analysis need
    (no optimiser state).

    **Arguments:**

    - `path`: a checkpoint file, or a `hopjax train` run directory holding
        `checkpoint.eqx`.
    - `**changes`: settings to replace in the returned config (e.g. `data_dir`,
        `test_examples`, or `solver` to evaluate with another solver); they do not
        affect loading, so `model` and `layer_sizes`, which describe the saved model,
        cannot change.

    **Returns:** `(config, epoch, model)`.

    **Raises:** [`hopjax.train.CheckpointError`][] as [`hopjax.train.load_checkpoint`][];
    `TypeError` for a change that is no setting of [`hopjax.train.TrainConfig`][],
    `ValueError` for one to `model` or `layer_sizes`.
    """
    path = _checkpoint_file("load_trained_model", path)
    settings = [field.name for field in dataclasses.fields(TrainConfig)]
    unknown = sorted(set(changes) - set(settings))
    if unknown:
        verb = "is no TrainConfig setting" if len(unknown) == 1 else "are no TrainConfig settings"
        raise TypeError(
            f"load_trained_model: {', '.join(map(repr, unknown))} {verb}; the settings "
            f"are {', '.join(settings)}."
        )
    config = read_header(path)["config"]
    changed = dataclasses.replace(config, **changes)
    fixed = [k for k in MODEL_SETTINGS if getattr(changed, k) != getattr(config, k)]
    if fixed:
        details = ", ".join(
            f"{k} {getattr(config, k)!r}, not {getattr(changed, k)!r}" for k in fixed
        )
        raise ValueError(
            f"load_trained_model: {path} holds a model with {details}; the model's "
            "structure cannot be changed on loading."
        )
    model, _, opt_state, data_key = config.initial_state(steps_per_epoch=1)
    _, epoch, model, _, _ = load_checkpoint(path, (model, opt_state, data_key))
    return changed, epoch, model


def load_run_data(path, config: TrainConfig) -> Dataset:
    """The data to evaluate a trained run on, checked to be the data it was trained on.

    Loads `config.dataset` from `config.data_dir` and cuts it to `config`'s
    `train_examples` / `test_examples`, as [`hopjax.train.load_data`][] does; `config`
    is the run's own, as [`hopjax.train.load_trained_model`][] returns it, perhaps with
    another `data_dir` or `test_examples`. First, cut to the run's own example counts,
    the data set's [`hopjax.data.Dataset.fingerprint`][] must equal the one the
    checkpoint recorded (a checkpoint without one is not checked): else the accuracy
    and iteration counts would be measured on other data than the run learned from
    (a run given its data in Python, `hopjax.train.train(data=...)`, records its
    `config.dataset` unchanged).

    **Arguments:**

    - `path`: a checkpoint file, or a `hopjax train` run directory holding
        `checkpoint.eqx`.
    - `config`: the settings to load the data with.

    **Returns:** a [`hopjax.data.Dataset`][].

    **Raises:** [`hopjax.train.CheckpointError`][] as [`hopjax.train.read_header`][], or
    if the data set is not the data the run was trained on; the errors of
    [`hopjax.data.load_dataset`][] for a data set that cannot be loaded.
    """
    path = _checkpoint_file("load_run_data", path)
    header = read_header(path)
    data = load_dataset(config.dataset, data_dir=config.data_dir)
    if "data" in header:
        trained = header["config"]
        ours = data.subset(trained.train_examples, trained.test_examples).fingerprint()
        recorded = header["data"]
        if any(recorded.get(key) != value for key, value in ours.items()):
            counts = ("train_examples", "test_examples")
            differs = (
                f"{recorded.get(counts[0])} training and {recorded.get(counts[1])} test "
                f"examples, where it has {ours[counts[0]]} and {ours[counts[1]]}"
                if any(recorded.get(k) != ours[k] for k in counts)
                else "as many examples, but other images or labels, or in another order"
            )
            raise CheckpointError(
                f"{path} was trained on other data than {data.description} gives (the "
                f"checkpoint records {differs}): its data was given in Python "
                "(hopjax.train.train(data=...)), or was other files under that name. "
                "Evaluate it on its own data in Python: config, _, model = "
                "hopjax.train.load_trained_model(path), then hopjax.train.evaluate(model, "
                "test_images, test_labels, config.solve_options(backward=False))."
            )
    return data.subset(config.train_examples, config.test_examples)


def _checkpoint_file(where: str, path) -> pathlib.Path:
    """`path` as a checkpoint file: `checkpoint.eqx` in it if it is a directory."""
    path = check_path(f"{where}: path", path)
    return path / CHECKPOINT if path.is_dir() else path
