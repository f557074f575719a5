"""Training (a wing above the core: the core never imports it)."""

from ._checkpoint import (
    CHECKPOINT as CHECKPOINT,
    CheckpointError as CheckpointError,
    load_checkpoint as load_checkpoint,
    load_run_data as load_run_data,
    load_trained_model as load_trained_model,
    read_header as read_header,
    save_checkpoint as save_checkpoint,
)
from ._config import (
    BACKWARDS as BACKWARDS,
    PAPER_LAYERS as PAPER_LAYERS,
    TrainConfig as TrainConfig,
)
from ._evaluate import evaluate as evaluate
from ._loop import load_data as load_data, train as train
from ._madam import madam as madam, MadamState as MadamState
from ._papers_storage import papers_reference_rms as papers_reference_rms
from ._schedule import epoch_linear_decay as epoch_linear_decay
from ._step import (
    loss_and_accuracy as loss_and_accuracy,
    make_train_step as make_train_step,
)
