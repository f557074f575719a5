"""Checkpoints: model, optimiser state, epoch and data RNG key, with the run's settings.

File layout: one JSON header line (format, settings, epoch) followed by
Equinox's `tree_serialise_leaves` of `(model, opt_state, data_key_data)`. Loading
rebuilds the pytree structure from the settings, so a checkpoint written for other
settings, or a damaged file, is reported instead of loaded.
"""

import dataclasses
import json
import os
import pathlib

import equinox as eqx
import jax

from ._config import TrainConfig


FORMAT = "hopjax-checkpoint-1"
RESUMABLE_DIFFERENCES = frozenset({"data_dir"})
"""Settings that may differ between a run and its resumption (they do not change the
numbers)."""


class CheckpointError(ValueError):
    """A checkpoint cannot be read, or belongs to a different run (also raised by
    [`hopjax.train.train`][] for an output directory that already holds a run, or has
    nothing to resume). The message says which and why."""


def save_checkpoint(path, config: TrainConfig, epoch: int, model, opt_state, data_key):
    """Write a checkpoint to `path`, atomically (a temporary file renamed over `path`).

    **Arguments:**

    - `path`: the file to write (conventionally `checkpoint.eqx` in the run directory).
    - `config`: the run's [`hopjax.train.TrainConfig`][], stored in the header.
    - `epoch`: the number of epochs completed.
    - `model`, `opt_state`: the model and the optimiser state.
    - `data_key`: the data-shuffling PRNG key (typed key).
    """
    path = pathlib.Path(path)
    header = {"format": FORMAT, "config": config.to_dict(), "epoch": epoch}
    tmp = path.with_name(path.name + ".tmp")
    with open(tmp, "wb") as f:
        f.write((json.dumps(header) + "\n").encode())
        eqx.tree_serialise_leaves(f, (model, opt_state, jax.random.key_data(data_key)))
    os.replace(tmp, path)


def read_header(path) -> dict:
    """Read a checkpoint's JSON header without loading its arrays.

    **Arguments:**

    - `path`: the checkpoint file.

    **Returns:** a dict with `"format"`, `"epoch"` and `"config"` (a
    [`hopjax.train.TrainConfig`][]).

    **Raises:** [`hopjax.train.CheckpointError`][] if there is no file or it is not a
    hopjax checkpoint.
    """
    path = pathlib.Path(path)
    if not path.is_file():
        raise CheckpointError(f"No checkpoint at {path}.")
    try:
        with open(path, "rb") as f:
            header = json.loads(f.readline())
        if header.get("format") != FORMAT:
            raise ValueError(f"format {header.get('format')!r}, expected {FORMAT!r}")
        header["config"] = TrainConfig.from_dict(header["config"])
    except (ValueError, KeyError, TypeError, AttributeError) as error:
        raise CheckpointError(f"{path} is not a hopjax checkpoint ({error}).") from error
    return header


def load_checkpoint(path, like, config: TrainConfig | None = None):
    """Read the checkpoint at `path` into the structure of `like`.

    **Arguments:**

    - `path`: the checkpoint file.
    - `like`: `(model, opt_state, data_key)` of the right structure, shapes and dtypes,
        e.g. the model, optimiser state and key that
        [`hopjax.train.TrainConfig`][]`.initial_state` returns.
    - `config`: if given, the checkpoint's settings must equal it, except `data_dir`
        (which does not change the numbers).

    **Returns:** `(config, epoch, model, opt_state, data_key)` as saved.

    **Raises:** [`hopjax.train.CheckpointError`][] for a missing, damaged or foreign
    file, or one written with other settings (naming the differences).
    """
    header = read_header(path)
    saved = header["config"]
    if config is not None:
        theirs, ours = saved.to_dict(), config.to_dict()
        different = sorted(
            k for k in ours if ours[k] != theirs[k] and k not in RESUMABLE_DIFFERENCES
        )
        if different:
            details = ", ".join(f"{k}: {theirs[k]!r} vs {ours[k]!r}" for k in different)
            raise CheckpointError(
                f"{path} was written by a run with other settings ({details}); resume "
                "with the same settings, or start a new output directory."
            )
    model, opt_state, data_key = like
    template = (model, opt_state, jax.random.key_data(data_key))
    try:
        with open(path, "rb") as f:
            f.readline()
            model, opt_state, key_data = eqx.tree_deserialise_leaves(f, template)
    except Exception as error:  # truncated file, shape or dtype mismatch, ...
        raise CheckpointError(
            f"{path} could not be read: {type(error).__name__}: {error}"
        ) from error
    return saved, header["epoch"], model, opt_state, jax.random.wrap_key_data(key_data)


def load_trained_model(path, **changes):
    """The trained model of a run, with its settings: what evaluation and analysis need
    (no optimiser state).

    **Arguments:**

    - `path`: a checkpoint file, or a `hopjax train` run directory holding
        `checkpoint.eqx`.
    - `**changes`: settings to replace in the returned config (e.g. `data_dir`,
        `test_examples`); they do not affect loading.

    **Returns:** `(config, epoch, model)`.

    **Raises:** [`hopjax.train.CheckpointError`][] as [`hopjax.train.load_checkpoint`][].
    """
    path = pathlib.Path(path)
    if path.is_dir():
        path = path / "checkpoint.eqx"
    config = read_header(path)["config"]
    model, _, opt_state, data_key = config.initial_state(steps_per_epoch=1)
    _, epoch, model, _, _ = load_checkpoint(path, (model, opt_state, data_key))
    return dataclasses.replace(config, **changes), epoch, model
