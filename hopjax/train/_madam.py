r"""Madam: multiplicative weight updates (Bernstein, Vahdat, Yue & Liu 2020), as the
papers' code implements it (``hopdeq/madam.py``)."""

from collections.abc import Callable
from typing import NamedTuple

import jax
import jax.numpy as jnp
import optax
from jaxtyping import Array, PyTree

from .._checks import is_finite_real


class MadamState(NamedTuple):
    r"""The state of [`hopjax.train.madam`][]: `count`, the number of updates so far;
    `second_moment`, the running average $v$ of $g^2$ per parameter; `max_magnitude`,
    the clip bound $p_\text{max}$ of each parameter tensor, fixed at `init`."""

    count: Array
    second_moment: PyTree
    max_magnitude: PyTree


def tensor_rms(p: Array) -> Array:
    """$\\sqrt{\\operatorname{mean}(p^2)}$, the RMS of one tensor."""
    return jnp.sqrt(jnp.mean(jnp.square(p)))


def madam(
    learning_rate: float | optax.Schedule,
    p_scale: float = 1024.0,
    g_bound: float = 3.0,
    beta: float = 0.999,
    reference_rms: Callable[[PyTree], PyTree] | None = None,
) -> optax.GradientTransformation:
    r"""Madam as an `optax.GradientTransformation` (pass `params` to `update`).

    Per parameter tensor $p$ with gradient $g$, at step $t = 1, 2, \dots$:

    - $v \leftarrow \beta v + (1 - \beta) g^2$, $\hat g = g / \sqrt{v / (1 - \beta^t)}$
      (NaN, from $0/0$, set to 0; no epsilon), clipped to $[-g_\text{bound},
      g_\text{bound}]$;
    - $p \leftarrow \operatorname{clip}(p\,\exp(-\eta_t\,\hat g\,\operatorname{sign}
      p),\ \pm p_\text{max})$, with $p_\text{max} = p_\text{scale}\cdot
      \operatorname{RMS}(p_0)$ fixed at initialisation, the RMS taken over the tensor
      as stored (`reference_rms`).

    Signs never change and zeros stay zero. The returned updates are additive
    ($p_\text{new} - p$), so `optax.apply_updates` applies them. `learning_rate` may be
    an optax schedule of the step count (e.g. [`hopjax.train.epoch_linear_decay`][]).

    **Arguments:**

    - `learning_rate`: $\eta > 0$, a float or a schedule $t \mapsto \eta_t$.
    - `p_scale`: the bound on a tensor's magnitude relative to its initial RMS (default
        1024, the papers').
    - `g_bound`: the clip of the normalised gradient (default 3, the papers').
    - `beta`: the second-moment decay $\beta \in [0, 1)$ (default 0.999).
    - `reference_rms`: `params -> ` a pytree of the same structure holding the RMS
        each tensor's bound is taken from; `None` (default) takes each tensor's own RMS.
        [`hopjax.train.papers_reference_rms`][] gives the papers' storage, where the
        layer matrices live in one zero-padded matrix whose RMS is smaller.

    **Returns:** an `optax.GradientTransformation` whose `update(grads, state, params)`
    requires `params`.
    """
    if not callable(learning_rate) and not (
        is_finite_real(learning_rate) and learning_rate > 0
    ):
        raise ValueError(
            f"madam's learning_rate must be a positive finite number (or a schedule), got "
            f"{learning_rate!r}."
        )
    numbers = (p_scale, g_bound, beta)
    if not all(map(is_finite_real, numbers)) or not (
        p_scale > 0 and g_bound > 0 and 0 <= beta < 1
    ):
        raise ValueError(
            f"madam needs p_scale > 0, g_bound > 0 and beta in [0, 1); got "
            f"p_scale={p_scale!r}, g_bound={g_bound!r}, beta={beta!r}."
        )

    if reference_rms is not None and not callable(reference_rms):
        raise TypeError(
            "madam's reference_rms must be a function params -> RMS per tensor (or None), "
            f"got {reference_rms!r}."
        )

    def own_rms(params):
        return jax.tree.map(tensor_rms, params)

    rms = own_rms if reference_rms is None else reference_rms

    def init(params):
        reference = rms(params)
        if jax.tree.structure(reference) != jax.tree.structure(params):
            raise ValueError(
                "madam's reference_rms must return one RMS per parameter tensor, in a "
                f"pytree shaped like params; got {jax.tree.structure(reference)} for "
                f"{jax.tree.structure(params)}."
            )
        return MadamState(
            count=jnp.zeros((), jnp.int32),
            second_moment=jax.tree.map(jnp.zeros_like, params),
            max_magnitude=jax.tree.map(lambda r: p_scale * r, reference),
        )

    def update(updates, state, params=None):
        if params is None:
            raise ValueError("madam is multiplicative: pass params to update().")
        lr = learning_rate(state.count) if callable(learning_rate) else learning_rate
        count = state.count + 1
        second = jax.tree.map(
            lambda v, g: beta * v + (1 - beta) * g * g, state.second_moment, updates
        )

        def new_param(p, g, v, p_max):
            correction = 1 - beta ** count.astype(v.dtype)
            scaled = g / jnp.sqrt(v / correction)
            scaled = jnp.clip(jnp.nan_to_num(scaled, nan=0.0), -g_bound, g_bound)
            new = p * jnp.exp(-lr * scaled * jnp.sign(p))
            return jnp.clip(new, -p_max, p_max) - p

        out = jax.tree.map(new_param, params, updates, second, state.max_magnitude)
        return out, MadamState(count, second, state.max_magnitude)

    return optax.GradientTransformation(init, update)
