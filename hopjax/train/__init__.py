"""Training (a wing above the core: the core never imports it)."""

from ._madam import madam as madam, MadamState as MadamState
from ._schedule import epoch_linear_decay as epoch_linear_decay
from ._step import (
    loss_and_accuracy as loss_and_accuracy,
    make_train_step as make_train_step,
)
