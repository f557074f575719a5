r"""Fixed-point maps of layered Hopfield networks (pure functions, one sample).

Every map has the signature ``map(model, drive, states) -> states`` where ``drive`` is
[`hopjax.input_drive`][] (computed once per solve) and ``states = (s_1, ..., s_L)``.
Batches go through `jax.vmap`.
"""

from collections.abc import Sequence

import equinox as eqx
import jax.numpy as jnp
from jaxtyping import Array, Float

from ._checks import (
    check_damping,
    check_floating_dtype,
    check_input,
    check_model,
    check_one_sample,
    check_positive_int,
    describe_number,
    is_count,
    is_finite_real,
)
from ._custom_types import Drive, States
from ._model import AbstractHopfieldNetwork, CHN
from ._precision import matmul


def input_drive(model: AbstractHopfieldNetwork, x: Float[Array, " d0"]) -> Drive:
    r"""The constant part of every layer's field, $b_j + \sum_{(0,j)} \rho(x) U_{0j}$.

    The input enters as $\rho(x)\,U$, exactly as in the papers' code. Computed once per
    solve, not once per iteration.

    **Arguments:**

    - `model`: a [`hopjax.HAM`][] or [`hopjax.CHN`][].
    - `x`: one input sample, shape `(d_0,)`.

    **Returns:** the drive `(drive_1, ..., drive_L)`, one array of shape `(d_j,)` per
    state layer: the bias, plus $\rho(x) U_{0j}$ for the layers connected to the input.
    """
    x = check_input("input_drive", model, x, batch=False)
    rho_x = model.activation(x)
    drive = list(model.biases)
    for i, j, w in model.edges:
        if i == 0:
            drive[j - 1] = drive[j - 1] + matmul(rho_x, w)
    return tuple(drive)


def layer_fields(
    model: AbstractHopfieldNetwork,
    drive: Drive,
    activations: tuple[Float[Array, " _"] | None, ...],
    layers: Sequence[int],
) -> dict[int, Float[Array, " _"]]:
    r"""The fields $C_j = \text{drive}_j + \sum_{(i,j)} \rho(s_i) W_{ij} +
    \sum_{(j,k)} W_{jk}\rho(s_k)$ of the state layers ``layers`` (1-based).

    **Arguments:**

    - `model`: a [`hopjax.HAM`][] or [`hopjax.CHN`][].
    - `drive`: [`hopjax.input_drive`][]`(model, x)`.
    - `activations`: `activations[j - 1]` is $\rho(s_j)$; it is only read for
        neighbours of `layers` (others may be `None`).
    - `layers`: the state layers (1-based) whose fields are wanted.

    **Returns:** a dict `{j: C_j}` over `layers`.
    """
    check_one_sample("layer_fields", model, drive, activations)
    layers = _check_layers("layer_fields", model, layers)
    return _fields("layer_fields", model, drive, activations, layers)


def _check_layers(
    name: str, model: AbstractHopfieldNetwork, layers, *, unconnected: bool = False
) -> tuple[int, ...]:
    """``layers`` as a tuple of state-layer indices (1 to L), or an error naming the bad
    one; with ``unconnected``, no two of them may share a connection."""
    try:
        layers = tuple(layers)
    except TypeError:
        raise TypeError(
            f"{name}: layers must be a sequence of state-layer indices (1-based), got "
            f"{layers!r}."
        ) from None
    num_layers = model.num_state_layers
    for j in layers:
        if not (is_count(j) and j <= num_layers):
            raise ValueError(
                f"{name}: layers holds {j!r}, but the state layers are numbered 1 to "
                f"{num_layers} (the input is layer 0)."
            )
    for i, j, _ in model.edges if unconnected else ():
        if i in layers and j in layers:
            raise ValueError(
                f"{name}: layers {i} and {j} are connected, so they cannot both move "
                "to their local equilibrium at once; pass layers of one parity (e.g. "
                "hopjax.modelled_layers(L) or hopjax.auxiliary_layers(L))."
            )
    return tuple(int(j) for j in layers)


def _neighbour(name: str, activations, neighbour: int, layer: int) -> Float[Array, " _"]:
    r"""$\rho(s_\text{neighbour})$, which the field of ``layer`` reads; an error if
    that state is ``None``."""
    if activations[neighbour - 1] is None:
        raise ValueError(
            f"{name}: the field of layer {layer} needs the state of layer {neighbour}, "
            "which is None (only layers that an even-odd HAM solve does not model may "
            "be None, and only where no field reads them)."
        )
    return activations[neighbour - 1]


def _fields(name: str, model, drive, activations, layers) -> dict[int, Float[Array, " _"]]:
    """[`hopjax.layer_fields`][] on checked arguments; ``name`` goes into the error
    for a neighbour that is ``None``."""
    wanted = set(layers)
    fields = {j: drive[j - 1] for j in layers}
    for i, j, w in model.edges:
        if j in wanted and i > 0:
            fields[j] = fields[j] + matmul(_neighbour(name, activations, i, j), w)
        if i in wanted:
            fields[i] = fields[i] + matmul(w, _neighbour(name, activations, j, i))
    return fields


def _activations(model: AbstractHopfieldNetwork, states: States):
    return tuple(None if s is None else model.activation(s) for s in states)


def synchronous_map(
    model: AbstractHopfieldNetwork, drive: Drive, states: States
) -> States:
    r"""Synchronous updates, main paper Eq. (6) (HAM) and Eq. (5) (CHN).

    HAM: $s \leftarrow W\rho(s) + b + U\rho(x)$.
    CHN: $s \leftarrow \rho'(s) \odot (W\rho(s) + b + U\rho(x))$.
    Every layer is updated at once from the previous states (the model's
    `layer_update` applied to every field $C_j$).

    **Arguments:**

    - `model`: a [`hopjax.HAM`][] or [`hopjax.CHN`][].
    - `drive`: [`hopjax.input_drive`][]`(model, x)`.
    - `states`: `(s_1, ..., s_L)`, every state layer of one sample.

    **Returns:** the new `(s_1, ..., s_L)`.
    """
    check_one_sample("synchronous_map", model, drive, states)
    for j, s in enumerate(states, start=1):
        if s is None:
            raise ValueError(
                f"synchronous_map updates every layer from its state, but layer {j}'s "
                "state is None."
            )
    layers = range(1, len(states) + 1)
    fields = _fields("synchronous_map", model, drive, _activations(model, states), layers)
    return tuple(model.layer_update(states[j - 1], fields[j]) for j in layers)


def modelled_layers(num_state_layers: int) -> tuple[int, ...]:
    r"""The layers of the output's parity: the state of an even-odd solve (Eq. 9/10).

    **Arguments:**

    - `num_state_layers`: $L$.

    **Returns:** the 1-based indices $L, L - 2, \dots$ in increasing order, e.g.
    `(2,)` for $L = 2$ and `(1, 3)` for $L = 3$.
    """
    num_state_layers = check_positive_int("num_state_layers", num_state_layers)
    return tuple(range(num_state_layers, 0, -2))[::-1]


def auxiliary_layers(num_state_layers: int) -> tuple[int, ...]:
    r"""The layers of the other parity, reconstructed from the modelled ones.

    **Arguments:**

    - `num_state_layers`: $L$.

    **Returns:** the 1-based indices $L - 1, L - 3, \dots$ in increasing order, e.g.
    `(1,)` for $L = 2$ and `(2,)` for $L = 3$.
    """
    num_state_layers = check_positive_int("num_state_layers", num_state_layers)
    return tuple(range(num_state_layers - 1, 0, -2))[::-1]


def local_equilibria(
    model: AbstractHopfieldNetwork,
    drive: Drive,
    states: States,
    layers: Sequence[int],
) -> States:
    r"""Bring every layer in ``layers`` to its local equilibrium given the others.

    The layers in ``layers`` share no connection (they have one parity), so this is a
    parallel *and* asynchronous update: for a HAM it exactly minimises the energy over
    those layers, $s_j \leftarrow C_j$; for a CHN it runs the model's inner iterations
    (`local_equilibrium`).

    **Arguments:**

    - `model`: a [`hopjax.HAM`][] or [`hopjax.CHN`][].
    - `drive`: [`hopjax.input_drive`][]`(model, x)`.
    - `states`: `(s_1, ..., s_L)`; the neighbours of `layers` must be arrays, the
        layers themselves may be `None` for a HAM.
    - `layers`: state layers (1-based) that share no connection, e.g. one parity (two
        connected layers are refused: they would not both end at a local equilibrium).

    **Returns:** `states` with every layer in `layers` replaced.
    """
    check_one_sample("local_equilibria", model, drive, states)
    layers = _check_layers("local_equilibria", model, layers, unconnected=True)
    return _local_equilibria("local_equilibria", model, drive, states, layers)


def _local_equilibria(name: str, model, drive, states, layers) -> States:
    """[`hopjax.local_equilibria`][] on checked arguments; ``name`` (the public caller)
    goes into the error for a state that is ``None`` where it is needed."""
    fields = _fields(name, model, drive, _activations(model, states), layers)
    new = list(states)
    for j in layers:
        if states[j - 1] is None and model.warm_starts_local_equilibria:
            raise ValueError(
                f"{name}: a {type(model).__name__} starts each layer's local "
                f"equilibrium from its current state, but layer {j}'s state is None."
            )
        new[j - 1] = model.local_equilibrium(states[j - 1], fields[j])
    return tuple(new)


def even_odd_map(model: AbstractHopfieldNetwork, drive: Drive, states: States) -> States:
    r"""Even-odd splitting as one fixed-point map, main paper Eq. (9)/(10).

    First every layer of the auxiliary parity (the one without the output) is brought to
    its local equilibrium given the modelled parity, then every modelled layer given the
    new auxiliary layers. For a HAM with the output in the even layers,
    $s_\text{even} \leftarrow W_P^T \rho(W_P \rho(s_\text{even}) + b_\text{odd} +
    U_\text{odd}\rho(x)) + b_\text{even}$; with an odd number of state layers the roles
    of even and odd are swapped. One call updates every layer once.

    Layers that are ``None`` in ``states`` are not part of the fixed-point state (a HAM
    needs only the modelled parity); they stay ``None`` in the output. A CHN carries both
    parities, because its local equilibria are warm-started.

    **Arguments:**

    - `model`: a [`hopjax.HAM`][] or [`hopjax.CHN`][].
    - `drive`: [`hopjax.input_drive`][]`(model, x)`.
    - `states`: `(s_1, ..., s_L)` as from [`hopjax.initial_states`][]`(model,
        "even_odd", dtype)`: the auxiliary parity `None` for a HAM.

    **Returns:** the new states, with the same `None` pattern.
    """
    check_one_sample("even_odd_map", model, drive, states)
    num_layers = len(states)
    full = _local_equilibria("even_odd_map", model, drive, states, auxiliary_layers(num_layers))
    full = _local_equilibria("even_odd_map", model, drive, full, modelled_layers(num_layers))
    return tuple(None if s is None else new for s, new in zip(states, full))


def reconstruct_states(
    model: AbstractHopfieldNetwork, drive: Drive, states: States
) -> tuple[Float[Array, " _"], ...]:
    """Fill in the layers that an even-odd solve did not model (``None``) from the
    modelled ones: one half-step of [`hopjax.even_odd_map`][], after convergence.

    **Arguments:**

    - `model`: a [`hopjax.HAM`][] or [`hopjax.CHN`][].
    - `drive`: [`hopjax.input_drive`][]`(model, x)`.
    - `states`: `(s_1, ..., s_L)`, some layers `None`.

    **Returns:** every layer's state, the missing ones at their local equilibrium
    given the others (`states` unchanged if none is missing).
    """
    check_one_sample("reconstruct_states", model, drive, states)
    missing = tuple(j for j, s in enumerate(states, start=1) if s is None)
    if not missing:
        return states
    return _local_equilibria("reconstruct_states", model, drive, states, missing)


def initial_states(
    model: AbstractHopfieldNetwork, update: str, dtype
) -> States:
    """Zero states, as the papers: all layers for synchronous updates, the modelled
    parity only for an even-odd HAM, all layers for an even-odd CHN.

    **Arguments:**

    - `model`: a [`hopjax.HAM`][] or [`hopjax.CHN`][].
    - `update`: `"synchronous"` or `"even_odd"`.
    - `dtype`: the states' floating dtype.

    **Returns:** `(s_1, ..., s_L)`, zeros of shape `(d_j,)` or `None` for a layer that
    is not part of the fixed-point state.
    """
    check_model("initial_states", model)
    if update not in UPDATE_MAPS:
        raise ValueError(
            f"initial_states: update must be one of {sorted(UPDATE_MAPS)}, got {update!r}."
        )
    dtype = check_floating_dtype("initial_states", dtype)
    sizes = model.layer_sizes[1:]
    keep = set(range(1, len(sizes) + 1))
    if update == "even_odd" and not model.warm_starts_local_equilibria:
        keep = set(modelled_layers(len(sizes)))
    return tuple(
        jnp.zeros((d,), dtype) if j in keep else None
        for j, d in enumerate(sizes, start=1)
    )


class _DampedMap(eqx.Module):
    fixed_point_map: object
    step_size: float

    def __call__(self, model, drive, states):
        new = self.fixed_point_map(model, drive, states)
        h = self.step_size
        return tuple(
            None if s is None else (1 - h) * s + h * n for s, n in zip(states, new)
        )


def damped_map(fixed_point_map, step_size: float):
    r"""The damped map $s \leftarrow (1 - h)\,s + h\,f(s)$: forward Euler with step $h$
    on $\dot s = f(s) - s$ (main paper Eq. 2/4). Its fixed points are those of $f$.

    The papers damp the synchronous CHN with $h = 0.5$ (their ``damping_factor`` is
    $1 - h$). [`hopjax.solve`][]`(..., damping=beta)` uses `damped_map(map, 1 - beta)`.

    **Arguments:**

    - `fixed_point_map`: a map `(model, drive, states) -> states`, e.g.
        [`hopjax.synchronous_map`][].
    - `step_size`: $h \in (0, 1]$; $h = 1$ gives back `fixed_point_map`'s iteration.

    **Returns:** a map with the same signature as `fixed_point_map` (an
    `equinox.Module`, so it can be passed through `jax.jit`).
    """
    if not callable(fixed_point_map):
        raise TypeError(
            "damped_map needs a map (model, drive, states) -> states, got "
            f"{fixed_point_map!r}."
        )
    if not (is_finite_real(step_size) and 0 < step_size <= 1):
        raise ValueError(f"step_size must lie in (0, 1], got {describe_number(step_size)}.")
    return _DampedMap(fixed_point_map, float(step_size))


UPDATE_MAPS = {"synchronous": synchronous_map, "even_odd": even_odd_map}
"""The update schemes [`hopjax.solve`][] knows, and their fixed-point maps."""


def papers_damping(model_type: type, update: str) -> float:
    """The papers' map-level damping: 0.5 for a synchronous CHN (whose undamped map
    does not converge), 0 otherwise."""
    return 0.5 if issubclass(model_type, CHN) and update == "synchronous" else 0.0


def iterated_map(name: str, model: AbstractHopfieldNetwork, update: str, damping):
    """The map `solve` iterates: `update`'s map, damped by `damping` (`None`: the
    papers' damping); `name` (the caller) goes into the error for a bad argument."""
    if update not in UPDATE_MAPS:
        raise ValueError(
            f"{name}: update must be one of {sorted(UPDATE_MAPS)}, got {update!r}."
        )
    if damping is None:
        damping = papers_damping(type(model), update)
    check_damping(name, damping)
    fixed_point_map = UPDATE_MAPS[update]
    return damped_map(fixed_point_map, 1.0 - damping) if damping > 0 else fixed_point_map
