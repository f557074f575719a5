"""The papers' learning-rate schedule."""

import jax.numpy as jnp
import optax

from .._checks import check_positive_int, is_finite_real


def epoch_linear_decay(
    initial: float, steps_per_epoch: int, epochs: int, final_factor: float = 0.1
) -> optax.Schedule:
    r"""Linear decay stepped per epoch: epoch $e$ uses
    $\eta_0\,(1 - (1 - f)\,e/(E - 1))$, i.e. PyTorch's
    ``LinearLR(start_factor=1, end_factor=f, total_iters=E-1)`` stepped once per epoch
    (the papers: $f = 0.1$, $E = 10$, so epoch $e$ uses $\eta_0(1 - 0.1e)$).

    **Arguments:**

    - `initial`: $\eta_0$.
    - `steps_per_epoch`: optimiser steps per epoch (the schedule's argument counts
        steps).
    - `epochs`: $E$; later steps keep the last epoch's rate.
    - `final_factor`: $f$, the last epoch's rate relative to $\eta_0$ (default 0.1).

    **Returns:** an optax schedule, step count $\mapsto$ learning rate.
    """
    steps_per_epoch = check_positive_int("steps_per_epoch", steps_per_epoch)
    epochs = check_positive_int("epochs", epochs)
    if not (is_finite_real(initial) and initial > 0) or not (
        is_finite_real(final_factor) and final_factor >= 0
    ):
        raise ValueError(
            "epoch_linear_decay needs a positive finite initial rate and a finite "
            f"final_factor >= 0, got initial={initial!r}, final_factor={final_factor!r}."
        )

    def schedule(count):
        epoch = jnp.minimum(jnp.asarray(count) // steps_per_epoch, epochs - 1)
        fraction = epoch.astype(jnp.result_type(float)) / max(epochs - 1, 1)
        return initial * (1 - (1 - final_factor) * fraction)

    return schedule
