"""Layered Hopfield networks: the HAM (Krotov 2021) and the CHN (Bengio & Fischer 2015).

A network has layers ``0 .. L``: layer 0 is the clamped input ``x``, layers ``1 .. L`` are
state layers and layer ``L`` is the output. Layers ``i`` and ``j`` talk through one matrix
``W`` of shape ``(d_i, d_j)`` used in both directions (row-vector convention: layer ``j``
receives ``rho(s_i) @ W``, layer ``i`` receives ``W @ rho(s_j)``). Consecutive layers are
always connected; extra (skip) connections may join layers whose indices differ by an odd
number, which keeps the layer graph bipartite (even / odd) so that even-odd splitting
stays valid (main paper, Sec. 3.2).
"""

import abc
import math
import operator
from collections.abc import Sequence
from typing import ClassVar

import equinox as eqx
import jax
import jax.numpy as jnp
from jaxtyping import Array, Float, PRNGKeyArray

from ._activation import AbstractActivation, ShiftedSigmoid
from ._checks import (
    check_activation,
    check_floating_dtype,
    check_key,
    check_layer_sizes,
    check_positive_int,
    describe_number,
    is_finite_real,
)


def _xavier_uniform(key, fan_in: int, fan_out: int, dtype) -> Float[Array, "i o"]:
    bound = math.sqrt(6.0 / (fan_in + fan_out))
    return jax.random.uniform(key, (fan_in, fan_out), dtype, -bound, bound)


def _check_skips(skips, num_layers: int) -> tuple[tuple[int, int], ...]:
    checked = []
    for pair in skips:
        try:
            i, j = sorted(operator.index(k) for k in pair)
        except (TypeError, ValueError):
            raise ValueError(
                f"Skip connection {pair!r} must be a pair of integer layer indices (i, j)."
            ) from None
        if not 0 <= i < j < num_layers:
            raise ValueError(
                f"Skip connection {tuple(pair)} names a layer outside 0..{num_layers - 1}."
            )
        if (j - i) % 2 == 0:
            raise ValueError(
                f"Skip connection {tuple(pair)} joins two layers of the same parity; only "
                "layers whose indices differ by an odd number may be connected (this "
                "keeps the network bipartite, which even-odd splitting relies on)."
            )
        if j - i == 1:
            raise ValueError(
                f"Skip connection {tuple(pair)} duplicates the connection between "
                "consecutive layers, which every network already has."
            )
        if (i, j) in checked:
            raise ValueError(f"Skip connection {(i, j)} is given twice.")
        checked.append((i, j))
    return tuple(checked)


class AbstractHopfieldNetwork(eqx.Module):
    r"""A layered Hopfield network with symmetric couplings: the base of
    [`hopjax.HAM`][] and [`hopjax.CHN`][].

    Layers $0, \dots, L$: layer 0 is the clamped input $s_0 = x$, layers $1, \dots, L$
    are state layers, layer $L$ is the output. Each connection $(i, j)$, $i < j$, has one
    matrix $W_{ij}$ of shape $(d_i, d_j)$ used in both directions (row-vector
    convention). The *field* of state layer $j$ is
    $C_j = b_j + \sum_{(i,j)} \rho(s_i) W_{ij} + \sum_{(j,k)} W_{jk} \rho(s_k)$
    (see [`hopjax.layer_fields`][]). Subclasses say how a layer responds to its field
    (`layer_update`, `local_equilibrium`) and what a layer's own energy is
    (`self_energy`).

    Fields (pytree leaves, so `jax.grad` and optimisers see them):

    - `weights`: `(W_{01}, W_{12}, ..., W_{L-1,L})`, the chain of consecutive layers;
        `weights[0]` is the input matrix $U$ of shape `(d_0, d_1)`.
    - `biases`: `(b_1, ..., b_L)`, one per state layer.
    - `skip_weights`: one matrix per entry of `skips`.
    - `skips`: the extra connections `(i, j)` (static).
    - `activation`: the [`hopjax.AbstractActivation`][] $\rho$.

    Initialisation (both models): Xavier-uniform weights,
    $W \sim U(\pm\sqrt{6 / (d_i + d_j)})$, and biases $b \sim N(0, 0.01^2)$, as the
    papers' code.
    """

    weights: tuple[Float[Array, "_ _"], ...]
    biases: tuple[Float[Array, " _"], ...]
    skip_weights: tuple[Float[Array, "_ _"], ...]
    skips: tuple[tuple[int, int], ...] = eqx.field(static=True)
    activation: AbstractActivation

    warm_starts_local_equilibria: ClassVar[bool]
    """Whether a layer's local equilibrium depends on its own previous state (a warm
    start). If so, an even-odd solve carries both parities in its state."""

    def _initialise(self, layer_sizes, key, activation, skips, dtype):
        sizes = check_layer_sizes(layer_sizes)
        skips = _check_skips(skips, len(sizes))
        check_activation("activation", activation)
        dtype = (
            jnp.zeros(()).dtype
            if dtype is None
            else check_floating_dtype(type(self).__name__, dtype)
        )
        check_key(type(self).__name__, key)
        keys = jax.random.split(key, 2 * len(sizes) + len(skips))
        self.biases = tuple(
            0.01 * jax.random.normal(k, (d,), dtype) for k, d in zip(keys, sizes[1:])
        )
        chain_keys = keys[len(sizes) : 2 * len(sizes) - 1]
        self.weights = tuple(
            _xavier_uniform(k, sizes[i], sizes[i + 1], dtype)
            for i, k in enumerate(chain_keys)
        )
        skip_keys = keys[2 * len(sizes) :]
        self.skip_weights = tuple(
            _xavier_uniform(k, sizes[i], sizes[j], dtype)
            for (i, j), k in zip(skips, skip_keys)
        )
        self.skips = skips
        self.activation = activation

    @property
    def layer_sizes(self) -> tuple[int, ...]:
        """``(d_0, d_1, ..., d_L)``: the input width, then each state layer's width."""
        return (self.weights[0].shape[0],) + tuple(w.shape[1] for w in self.weights)

    @property
    def num_state_layers(self) -> int:
        """``L``, the number of state layers (the input layer is not one)."""
        return len(self.weights)

    @property
    def edges(self) -> tuple[tuple[int, int, Float[Array, "_ _"]], ...]:
        """Every connection ``(i, j, W)`` with ``i < j`` and ``W`` of shape ``(d_i, d_j)``."""
        chain = tuple((i, i + 1, w) for i, w in enumerate(self.weights))
        skip = tuple((i, j, w) for (i, j), w in zip(self.skips, self.skip_weights))
        return chain + skip

    @abc.abstractmethod
    def layer_update(
        self, s: Float[Array, " d"], field: Float[Array, " d"]
    ) -> Float[Array, " d"]:
        """One synchronous update of a layer from its field (main paper Eq. 6 / Eq. 5).

        **Arguments:**

        - `s`: the layer's current state, shape `(d,)`.
        - `field`: its field $C_j$ from the previous states, shape `(d,)`.

        **Returns:** the layer's new state, shape `(d,)`.
        """

    @abc.abstractmethod
    def local_equilibrium(
        self, s: Float[Array, " d"] | None, field: Float[Array, " d"]
    ) -> Float[Array, " d"]:
        """The layer's equilibrium given its (fixed) neighbours: one half of even-odd.

        **Arguments:**

        - `s`: the layer's current state (a warm start), or `None` where the model does
            not use one (a HAM).
        - `field`: its field $C_j$ from the neighbours' states, shape `(d,)`.

        **Returns:** the state $s_j$ that solves the layer's equilibrium condition.
        """

    @abc.abstractmethod
    def self_energy(self, s: Float[Array, " d"]) -> Float[Array, ""]:
        """The part of the energy that involves one layer alone (no bias, no coupling):
        see [`hopjax.energy`][].

        **Arguments:**

        - `s`: the layer's state, shape `(d,)`.

        **Returns:** a scalar.
        """


class HAM(AbstractHopfieldNetwork):
    r"""A Hierarchical Associative Memory (Krotov 2021), main paper Eq. (3)/(6).

    Energy (Eq. 3, one sample, input clamped):
    $E = \sum_{j \ge 1}\big(s_j^T\rho(s_j) - \mathcal{L}(s_j) - b_j^T\rho(s_j)\big)
    - \sum_{(i,j)} \rho(s_i)^T W_{ij}\,\rho(s_j)$. Its stationarity condition is the
    DEQ (Eq. 6) $s = W\rho(s) + b + U\rho(x)$, i.e. every layer equals its field,
    $s_j = C_j$; so each layer's equilibrium given its neighbours is reached in one
    update, which makes even-odd splitting exact and cheap.
    """

    warm_starts_local_equilibria: ClassVar[bool] = False

    def __init__(
        self,
        layer_sizes: Sequence[int],
        *,
        key: PRNGKeyArray,
        activation: AbstractActivation = ShiftedSigmoid(),
        skips: Sequence[tuple[int, int]] = (),
        dtype=None,
    ):
        r"""**Arguments:**

        - `layer_sizes`: `(d_0, d_1, ..., d_L)`: the input width, then every state
            layer's width, the output last (the papers: `(784, 1990, 10)` for "3
            layers"). At least two entries.
        - `key`: a JAX PRNG key for the initialisation.
        - `activation`: $\rho$, default [`hopjax.ShiftedSigmoid`][]`()`.
        - `skips`: extra connections `(i, j)` between layers whose indices differ by an
            odd number greater than 1 (so the network stays bipartite and even-odd
            splitting stays valid); layer 0 is the input.
        - `dtype`: floating dtype of the parameters (default: JAX's default float).
        """
        self._initialise(layer_sizes, key, activation, skips, dtype)

    def layer_update(self, s, field):
        r"""$s_j \leftarrow C_j$ (the state is not used)."""
        del s
        return field

    def local_equilibrium(self, s, field):
        r"""$s_j = C_j$, exactly, in one update (the state is not used)."""
        del s
        return field

    def self_energy(self, s):
        r"""$s^T\rho(s) - \mathcal{L}(s)$, summed over the layer's units."""
        return jnp.sum(s * self.activation(s) - self.activation.lagrangian(s))


class CHN(AbstractHopfieldNetwork):
    r"""A continuous Hopfield network (Bengio & Fischer 2015), main paper Eq. (1)/(5).

    Energy (Eq. 1, one sample, input clamped):
    $E = \sum_{j \ge 1}\big(\tfrac12\lVert s_j\rVert^2 - b_j^T\rho(s_j)\big)
    - \sum_{(i,j)} \rho(s_i)^T W_{ij}\,\rho(s_j)$. The synchronous map (Eq. 5) is
    $s \leftarrow \rho'(s) \odot (W\rho(s) + b + U\rho(x))$. A layer's equilibrium
    given its neighbours solves $s = \rho'(s) \odot C$ implicitly; it is approximated by
    `inner_steps` damped iterations
    $s \leftarrow \beta s + (1 - \beta)\,\rho'(s) \odot C$ with $\beta$ =
    `inner_damping`, warm-started from the layer's current state (the papers: 10 steps,
    $\beta = 0.5$). An even-odd iteration therefore costs `2 * inner_steps` layer
    updates.

    With $\beta = 0.5$ the inner iteration 2-cycles at strong fields (above about
    $C \approx 2.3$); with an even `inner_steps` it then returns the same state every
    time, so an even-odd solve can report convergence at a state that is no equilibrium
    of Eq. (5). Check with [`hopjax.equation_residual`][]; `inner_damping=0.8` avoids
    it (notebook 04 shows both).
    """

    inner_steps: int = eqx.field(static=True)
    inner_damping: float = eqx.field(static=True)
    warm_starts_local_equilibria: ClassVar[bool] = True

    def __init__(
        self,
        layer_sizes: Sequence[int],
        *,
        key: PRNGKeyArray,
        activation: AbstractActivation = ShiftedSigmoid(),
        skips: Sequence[tuple[int, int]] = (),
        inner_steps: int = 10,
        inner_damping: float = 0.5,
        dtype=None,
    ):
        r"""**Arguments:**

        - `layer_sizes`, `key`, `activation`, `skips`, `dtype`: as for
            [`hopjax.HAM`][].
        - `inner_steps`: the number of inner iterations of a layer's local equilibrium
            (default 10, the papers').
        - `inner_damping`: their damping $\beta \in [0, 1)$ (default 0.5, the papers').
        """
        inner_steps = check_positive_int("inner_steps", inner_steps)
        if not (is_finite_real(inner_damping) and 0 <= inner_damping < 1):
            raise ValueError(
                f"inner_damping must lie in [0, 1), got {describe_number(inner_damping)}."
            )
        self._initialise(layer_sizes, key, activation, skips, dtype)
        self.inner_steps = inner_steps
        self.inner_damping = float(inner_damping)

    def layer_update(self, s, field):
        r"""$s_j \leftarrow \rho'(s_j) \odot C_j$."""
        return self.activation.derivative(s) * field

    def local_equilibrium(self, s, field):
        r"""`inner_steps` iterations of
        $s_j \leftarrow \beta s_j + (1 - \beta)\,\rho'(s_j) \odot C_j$ from the
        current $s_j$, $\beta$ = `inner_damping`."""
        beta = self.inner_damping

        def inner(_, s):
            return beta * s + (1 - beta) * self.layer_update(s, field)

        return jax.lax.fori_loop(0, self.inner_steps, inner, s)

    def self_energy(self, s):
        r"""$\tfrac12\lVert s\rVert_2^2$."""
        return 0.5 * jnp.sum(s**2)
