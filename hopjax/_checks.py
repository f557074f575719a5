"""Input validation that names the problem, eagerly where it can and at run time under
`jax.jit` (through `equinox.error_if`) where values are only known then."""

import contextlib
import math
import operator
import os
import pathlib
from collections.abc import Mapping
from typing import TYPE_CHECKING

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
from jaxtyping import Array, PyTree


if TYPE_CHECKING:  # only for annotations: the solvers use these checks, and know no model
    from ._model import AbstractHopfieldNetwork


def _is_traced(leaves) -> bool:
    return any(isinstance(leaf, jax.core.Tracer) for leaf in leaves)


def traced_paths(tree: PyTree) -> list[str]:
    """The paths in ``tree`` (as `jax.tree_util.keystr` writes them, e.g. ".rtol") of
    the leaves traced by `jax.jit` / `jax.vmap` / `jax.grad`, to name them in a message."""
    return [jax.tree_util.keystr(path) for path, leaf in jax.tree_util.tree_flatten_with_path(tree)[0]
            if _is_traced([leaf])]


def check_finite(tree: PyTree, what: str) -> PyTree:
    """Return ``tree`` unchanged, or fail with "<what> contains NaN or Inf values".

    Concrete values raise `ValueError` at once, naming the offending leaves of a pytree
    (e.g. "(in .weights[1])"); traced values (under `jax.jit`, `jax.grad`, `jax.vmap`)
    raise when the compiled program runs.
    """
    found = [
        (path, leaf)
        for path, leaf in jax.tree_util.tree_flatten_with_path(tree)[0]
        if eqx.is_inexact_array(leaf)
    ]
    if not found:
        return tree
    leaves = [leaf for _, leaf in found]
    message = f"{what} contains NaN or Inf values"
    if not _is_traced(leaves):
        # Concrete values, possibly closed over by a function being traced (`jax.jit(
        # lambda x: solve(model, x))`): evaluate now, not as part of the trace.
        with jax.ensure_compile_time_eval():
            where = [
                jax.tree_util.keystr(path)
                for path, leaf in found
                if not bool(jnp.all(jnp.isfinite(leaf)))
            ]
        if where:
            named = f" (in {', '.join(where)})" if any(where) else ""
            raise ValueError(f"{message}{named}.")
        return tree
    return eqx.error_if(tree, jnp.invert(all_finite(leaves)), f"{message}.")


def all_finite(tree) -> Array:
    """Whether every array in ``tree`` is free of NaN and Inf (a boolean scalar, traced
    under a transformation)."""
    return jnp.stack([jnp.all(jnp.isfinite(leaf)) for leaf in jax.tree.leaves(tree)]).all()


def describe_number(value) -> str:
    """``repr(value)`` for an error message about a number; for a value traced by
    `jax.jit` / `jax.vmap` / `jax.grad`, also why that cannot be: tolerances, step
    counts, damping and the like fix the compiled program, so they must be concrete."""
    if not isinstance(value, jax.core.Tracer):
        return repr(value)
    return (
        f"{value!r}, a value traced by jax.jit / jax.vmap / jax.grad, where a concrete "
        "Python number is needed (it fixes the compiled program): close over it, or pass "
        "it as a static argument (jax.jit(..., static_argnames=...); equinox.filter_jit "
        "keeps Python numbers static)"
    )


def is_flag(value) -> bool:
    """Whether ``value`` is True or False (a Python or NumPy bool)."""
    return isinstance(value, (bool, np.bool_))


def is_count(value, *, minimum: int = 1) -> bool:
    """Whether ``value`` is a Python or NumPy integer (not a bool) of at least
    ``minimum``."""
    return (
        not isinstance(value, bool)
        and isinstance(value, (int, np.integer))
        and value >= minimum
    )


def check_positive_int(name: str, value, *, allow_none: bool = False) -> int | None:
    """``value`` as a Python int, or an error: it must be a positive integer (Python or
    NumPy; not a bool)."""
    if value is None and allow_none:
        return None
    if not is_count(value):
        raise ValueError(f"{name} must be a positive integer, got {describe_number(value)}.")
    return int(value)


def as_python_number(value):
    """A NumPy scalar or concrete 0-d JAX array of integer or floating dtype as the
    Python int or float it holds, anything else unchanged (for the checks to judge):
    the converter of the number fields of solvers and backward modes, which must stay
    static (an array would be traced under `jax.jit`)."""
    if isinstance(value, jax.Array) and value.ndim == 0 and not _is_traced([value]):
        value = np.asarray(value)[()]
    if isinstance(value, np.integer):
        return int(value)
    if isinstance(value, np.floating):
        return float(value)
    return value


def check_flag(name: str, value) -> None:
    """``value`` must be True or False (a Python or NumPy bool): a string such as
    ``"no"`` would be taken as true."""
    if not is_flag(value):
        raise TypeError(f"{name} must be True or False, got {value!r}.")


def check_floating_dtype(name: str, dtype):
    """The dtype JAX makes arrays of for ``dtype`` (float64 is float32 unless x64 is
    enabled), or a `TypeError` naming ``name`` unless it is a floating dtype (None, an
    integer dtype or a name JAX does not know are refused)."""
    try:
        made = None if dtype is None else jnp.zeros((), dtype).dtype
    except TypeError:
        made = None
    if made is None or not jnp.issubdtype(made, jnp.floating):
        raise TypeError(
            f"{name}: dtype must be a floating dtype (e.g. jnp.float32), got {dtype!r}."
        )
    return made


def check_key(name: str, key) -> None:
    """``key`` must be one JAX PRNG key: a typed key of shape ``()``
    (`jax.random.key`) or a raw ``uint32`` key (`jax.random.PRNGKey`); traced ones too
    (e.g. under `jax.vmap`, one key per model)."""
    typed = isinstance(key, jax.Array) and jax.dtypes.issubdtype(
        key.dtype, jax.dtypes.prng_key
    )
    raw = isinstance(key, (jax.Array, np.ndarray)) and key.dtype == np.uint32
    if not ((typed and key.shape == ()) or (raw and key.ndim == 1)):
        given = (
            f"an array of shape {key.shape} and dtype {key.dtype}"
            if isinstance(key, (jax.Array, np.ndarray))
            else repr(key)
        )
        raise TypeError(f"{name}: key must be one JAX PRNG key, e.g. jax.random.key(0), got {given}.")


def check_layer_sizes(layer_sizes) -> tuple[int, ...]:
    """``layer_sizes`` as a tuple of at least two positive integers (numpy integers
    too; not bools)."""
    try:
        sizes = tuple(layer_sizes)
    except TypeError:
        raise TypeError(
            f"layer_sizes must be a sequence of positive integers, got {layer_sizes!r}."
        ) from None
    if len(sizes) < 2:
        raise ValueError(
            "A layered Hopfield network needs at least two layers (the input and the "
            f"output); got layer_sizes={sizes}."
        )
    checked = []
    for size in sizes:
        try:
            size = None if isinstance(size, bool) else operator.index(size)  # np.int64 too
        except TypeError:
            size = None
        if size is None or size < 1:
            raise ValueError(
                f"Every layer size must be a positive integer; got layer_sizes={sizes}."
            )
        checked.append(size)
    return tuple(checked)


def check_model(name: str, model) -> None:
    """``model`` must be a hopjax network (a `hopjax.HAM` or `hopjax.CHN`)."""
    from ._model import AbstractHopfieldNetwork  # here: the model module uses these checks

    if not isinstance(model, AbstractHopfieldNetwork):
        raise TypeError(
            f"{name}: model must be a hopjax.HAM or hopjax.CHN, got {type(model).__name__}."
        )
    _check_parameters(name, model)
    check_activation(f"{name}: the model's activation", model.activation)


def check_activation(what: str, activation) -> None:
    """``activation`` (called ``what``: "activation", "solve: the model's activation")
    must be a hopjax activation whose own checks (each of its classes' `__check_init__`)
    pass, run again here: a model edited with `equinox.tree_at` skipped them (a gain of
    0 or -1 solved silently, with gain 0 the energy -inf; a NaN gain failed inside
    equinox; a plain function solved a HAM with it, unchecked). The value checks are
    skipped where its fields are traced (`jax.jit` or `jax.grad` of the model):
    `check_finite` covers NaN there."""
    from ._activation import AbstractActivation  # here: the activations use these checks

    if not isinstance(activation, AbstractActivation):
        raise TypeError(
            f"{what} must be a hopjax.AbstractActivation (it supplies rho, rho' and the "
            f"Lagrangian), got {type(activation).__name__}."
        )
    if _is_traced(jax.tree.leaves(activation)):
        return
    for cls in type(activation).__mro__:
        check = cls.__dict__.get("__check_init__")
        if check is not None:
            try:
                check(activation)
            except ValueError as error:
                raise ValueError(f"{what}: {error}") from None


def _check_parameters(name: str, model: "AbstractHopfieldNetwork") -> None:
    """Every weight and bias fits the widths the chain of weights gives each layer, and
    is floating point: a model edited with `equinox.tree_at` (or stacked into an
    ensemble) is not checked by its constructor, and a misfit failed deep inside a map,
    naming a drive or a broadcast rather than the parameter."""
    advice = (
        "a model edited with equinox.tree_at must keep every layer's width (for an "
        "ensemble of models, equinox.filter_vmap over it)"
    )
    named = [(f"weights[{i}]", w) for i, w in enumerate(model.weights)]
    named += [(f"biases[{i}]", b) for i, b in enumerate(model.biases)]
    named += [(f"skip_weights[{k}]", w) for k, w in enumerate(model.skip_weights)]
    for label, leaf in named:
        if not jnp.issubdtype(jnp.result_type(leaf), jnp.floating):
            raise TypeError(
                f"{name}: the model's {label} has dtype {jnp.result_type(leaf)}; its "
                "parameters must be floating point (jax.grad and optimisers skip others)."
            )
    for i, w in enumerate(model.weights):
        rows = model.weights[i - 1].shape[1] if i else None
        if jnp.ndim(w) != 2 or (rows is not None and w.shape[0] != rows):
            expected = "a matrix" if jnp.ndim(w) != 2 else f"{rows} rows (layer {i}'s width)"
            raise ValueError(
                f"{name}: the model's weights[{i}] has shape {jnp.shape(w)}, not "
                f"{expected}: {advice}."
            )
    if len(model.biases) != len(model.weights):
        raise ValueError(
            f"{name}: the model has {len(model.biases)} biases for {len(model.weights)} "
            f"state layers: {advice}."
        )
    sizes = model.layer_sizes  # the chain of weights, now known to be one
    fits = [(f"biases[{i}]", (d,), b) for i, (d, b) in enumerate(zip(sizes[1:], model.biases))]
    fits += [
        (f"skip_weights[{k}] (skip {(i, j)})", (sizes[i], sizes[j]), w)
        for k, ((i, j), w) in enumerate(zip(model.skips, model.skip_weights))
    ]
    for label, shape, leaf in fits:
        if jnp.shape(leaf) != shape:
            raise ValueError(
                f"{name}: the model's {label} has shape {jnp.shape(leaf)}, not {shape} "
                f"(the widths its weights give the layers, {sizes}): {advice}."
            )


def _sequence(name: str, what: str, value) -> tuple:
    """``value`` as a tuple, or a `TypeError` naming ``what`` for a non-sequence, a
    string or mapping, or a single array (whose rows `tuple` would take for layers)."""
    expected = f"{name}: {what} must be a sequence of arrays, one per state layer"
    if what == "states":
        expected += " (e.g. Equilibrium.states)"
    if isinstance(value, (np.ndarray, jax.Array)):
        raise TypeError(f"{expected}, got one array of shape {value.shape}.")
    if isinstance(value, (str, bytes, Mapping)):
        raise TypeError(f"{expected}, got {type(value).__name__}.")
    try:
        return tuple(value)
    except TypeError:
        raise TypeError(f"{expected}, got {type(value).__name__}.") from None


def check_input(name: str, model: "AbstractHopfieldNetwork", x, *, batch: bool = True) -> Array:
    """``model`` a hopjax network and ``x`` an array: floating point, ``(d0,)`` or (with
    ``batch``) ``(batch, d0)``."""
    check_model(name, model)
    try:
        if x is None:  # no array (jax before 0.6 read it as NaN, with a FutureWarning)
            raise TypeError
        x = jnp.asarray(x)
    except (TypeError, ValueError):
        raise TypeError(
            f"{name}: x must be a floating-point array (pixels scaled to [0, 1]), got "
            f"{type(x).__name__}."
        ) from None
    if not jnp.issubdtype(x.dtype, jnp.floating):
        raise TypeError(
            f"{name}: x must be a floating-point array (pixels scaled to [0, 1]), got "
            f"dtype {x.dtype}."
        )
    width = model.layer_sizes[0]
    if x.ndim not in ((1, 2) if batch else (1,)):
        shapes = f"({width},) for one sample" + (
            f" or (batch, {width}) for a batch" if batch else " (jax.vmap it for a batch)"
        )
        more = (
            f" For more batch axes, reshape x to (-1, {width}) or jax.vmap over them."
            if batch and x.ndim > 2
            else ""
        )
        raise ValueError(f"{name}: x must have shape {shapes}, got shape {x.shape}.{more}")
    if x.shape[-1] != width:
        raise ValueError(
            f"{name}: x has {x.shape[-1]} features but the model's input layer has "
            f"{width} (layer_sizes={model.layer_sizes}); got shape {x.shape}."
        )
    return x


def check_states(name: str, model: "AbstractHopfieldNetwork", x: Array, states) -> tuple:
    """``states`` as a tuple of one array per state layer, each of its layer's width and
    batched like ``x`` (checked with `check_input`)."""
    states = check_state_count(name, model, states)
    for layer, (state, width) in enumerate(zip(states, model.layer_sizes[1:]), start=1):
        if state is None:
            raise ValueError(
                f"{name} needs every layer's state, but state {layer} is None "
                "(hopjax.reconstruct_states fills in the layers an even-odd solve leaves "
                "out; hopjax.solve's Equilibrium.states has them all)."
            )
        wanted = x.shape[:-1] + (width,)
        if jnp.shape(state) != wanted:
            one_for_all = x.ndim == 2 and jnp.shape(state) == (width,)
            raise ValueError(
                f"{name}: state {layer} must have shape {wanted} ({width} units"
                f"{', batched like x' if x.ndim == 2 else ''}), got {jnp.shape(state)}."
                + (f" For the same state in every sample, give jnp.broadcast_to(state, {wanted})."
                   if one_for_all else "")
            )
    return states


def check_state_count(name: str, model: "AbstractHopfieldNetwork", states) -> tuple:
    """``states`` as a tuple, which must hold one array per state layer of ``model``."""
    states = _sequence(name, "states", states)
    if len(states) != model.num_state_layers:
        raise ValueError(
            f"{name} needs one state per state layer ({model.num_state_layers}), got "
            f"{len(states)}."
        )
    return states


def check_one_sample(name: str, model: "AbstractHopfieldNetwork", drive, states) -> None:
    """The arguments of a per-sample map: ``drive`` and ``states`` one array of shape
    ``(d_j,)`` per state layer (``None`` allowed among ``states``). A batch is named as
    such, with the advice to `jax.vmap`, instead of failing inside a matrix product."""
    check_model(name, model)
    sizes = model.layer_sizes[1:]
    for what, arrays in (("drive", drive), ("states", states)):
        arrays = _sequence(name, what, arrays)
        if len(arrays) != len(sizes):
            raise ValueError(
                f"{name} needs {what} with one array per state layer ({len(sizes)}), "
                f"got {len(arrays)}."
            )
        for layer, (array, width) in enumerate(zip(arrays, sizes), start=1):
            if array is None:
                continue
            shape = jnp.shape(array)
            if shape != (width,):
                batch = len(shape) > 1 and shape[-1] == width
                raise ValueError(
                    (f"{name} works on one sample: " if batch else f"{name}: ")
                    + f"{what}[{layer - 1}] must have shape ({width},), got {shape}."
                    + (" jax.vmap it for a batch." if batch else "")
                )


def check_path(name: str, value) -> pathlib.Path:
    """``value`` as a `pathlib.Path`, or an error naming ``name`` if it is not a path (a
    string or an `os.PathLike`) or is empty (which `pathlib` would take as the current
    directory)."""
    if not isinstance(value, (str, os.PathLike)):
        raise TypeError(
            f"{name} must be a path (a string or os.PathLike), got {type(value).__name__}."
        )
    if not os.fspath(value):
        raise ValueError(f"{name} is empty; give a path ('.' for the current directory).")
    return pathlib.Path(value)


@contextlib.contextmanager
def naming_os_errors(doing: str, advice: str):
    """Re-raise an `OSError` inside the block as one that says what was being done
    (``doing``, e.g. "Cannot create the run directory runs/x"), the system's reason,
    and what to do (``advice``)."""
    try:
        yield
    except OSError as error:
        raise OSError(f"{doing}: {error.strerror or error}. {advice}") from error


def is_finite_real(value) -> bool:
    """Whether ``value`` is a finite real number (Python, NumPy or a 0-d JAX array; not
    a bool, a string or None)."""
    if is_flag(value):
        return False
    try:
        return math.isfinite(value)
    except TypeError:
        return False


def check_tolerances(name: str, rtol: float, atol: float) -> None:
    """Raise a clear error for tolerances that make no sense."""
    for label, value in (("rtol", rtol), ("atol", atol)):
        if not (is_finite_real(value) and value >= 0):
            raise ValueError(
                f"{name} needs a finite, non-negative {label}, got {describe_number(value)}."
            )
    if rtol == 0 and atol == 0:
        raise ValueError(f"{name} needs rtol > 0 or atol > 0; both are zero.")
    if rtol >= 1:
        raise ValueError(
            f"{name} needs rtol below 1, got {describe_number(rtol)}: a relative tolerance of "
            "1 or more accepts an error as large as the value itself."
        )


def check_damping(name: str, damping: float) -> None:
    """Damping must lie in [0, 1): 1 would never move."""
    try:
        ok = 0 <= damping < 1
    except TypeError:
        ok = False
    if not ok:
        raise ValueError(f"{name} needs damping in [0, 1), got {describe_number(damping)}.")
