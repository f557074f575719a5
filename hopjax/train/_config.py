"""A training run's settings, with the papers' recipe as defaults."""

import dataclasses
import json
import numbers
import os
from collections.abc import Sequence
from typing import Any

import equinox as eqx
import jax
import optax

import hopjax as hj
from hopjax._checks import check_flag, check_layer_sizes, check_positive_int, is_count
from hopjax._maps import papers_damping
from hopjax.data._dataset import dataset_key

from ._madam import madam
from ._papers_storage import papers_reference_rms
from ._schedule import epoch_linear_decay


MODELS = {"ham": hj.HAM, "chn": hj.CHN}
UPDATES = ("even_odd", "synchronous")
SOLVERS = {"anderson": hj.Anderson, "picard": hj.Picard}
BACKWARDS = ("rbp", "rbp-unrolled", "fixed-point", "gmres", "unrolled")
"""The names `TrainConfig.backward` accepts (`hopjax train --backward`), each one of
hopjax's backward modes: see [`hopjax.train.TrainConfig`][]."""
_STEPPED_BACKWARDS = ("rbp", "rbp-unrolled", "fixed-point")  # those backward_steps sets
PAPER_LAYERS = {
    3: (784, 1990, 10),
    5: (784, 1280, 510, 200, 10),
    7: (784, 1024, 512, 256, 128, 70, 10),
}
"""The papers' networks by depth: `layer_sizes` for 3, 5 and 7 layers ("3/5/7 layers"
counts the input layer)."""


def _in_unit_interval(name: str, value, why: str = "") -> float:
    """``value`` as a float in (0, 1) (numpy scalars too, so the settings stay JSON)."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"{name} must be a number in (0, 1), got {value!r}.")
    if not 0 < value < 1:
        raise ValueError(f"{name} must lie in (0, 1){why}, got {value!r}.")
    return float(value)


@dataclasses.dataclass(frozen=True)
class TrainConfig:
    r"""Everything that determines a training run; `None` fields take the papers' recipe
    (as their code runs it):

    - learning rate 0.01 for 3 layers, 0.005 for more; linear decay to 1/10 over the
      run, stepped per epoch; Madam with `p_scale=1024`, `g_bound=3`;
    - forward cap $40 s$ map evaluations and recurrent backprop with $8 s$ steps,
      where $s = \lfloor (\text{layers} // 2) / (1 - \text{damping}) \rfloor$ (3/5/7
      layers: 40/80/120 and 8/16/24; a synchronous CHN, damped by 0.5: 80 and 16);
    - batch 64, training batches shuffled every epoch, a final partial batch dropped.

    `train_examples` / `test_examples` keep only the first examples of each split (quick
    runs). `early_stop=False` runs every solve for exactly `max_steps` (papers' code).

    **Arguments:**

    - `model`: `"ham"` ([`hopjax.HAM`][]) or `"chn"` ([`hopjax.CHN`][]).
    - `layer_sizes`: input width first, e.g. [`hopjax.train.PAPER_LAYERS`][]`[3]`
        (default); at least two state layers.
    - `update`: `"even_odd"` (default) or `"synchronous"`.
    - `solver`: `"anderson"` (default) or `"picard"`, with their default settings.
    - `backward`: `"rbp-unrolled"` (default: [`hopjax.UnrolledRecurrentBackprop`][],
        the papers' recurrent backprop as their code computes it, $K$ map calls from
        the solution backpropagated), `"rbp"` ([`hopjax.RecurrentBackprop`][]: the same
        $K$-term series with the Jacobian frozen at the solution; equal at an exact
        equilibrium, but a synchronous CHN, most of whose samples never converge,
        collapses with it in its third epoch on Fashion-MNIST and trains with the
        papers' form), `"fixed-point"`, `"gmres"` or `"unrolled"`.
    - `epochs`: the number of epochs (default 10).
    - `seed`: seeds the initialisation and the shuffling, an integer in [0, 2**63)
      (default 0).
    - `dataset`, `data_dir`: passed to [`hopjax.data.load_dataset`][]; `dataset` one of
        the keys of [`hopjax.data.TFDS_NAMES`][] (default `"fashion-mnist"`), checked
        here; a path-like `data_dir` is kept as a string, so the settings stay JSON.
    - `batch_size`: default 64.
    - `learning_rate`, `max_steps`, `backward_steps`: `None` for the papers' recipe
        (above); `backward_steps` is refused for `"gmres"` and `"unrolled"`, which take
        no step count.
    - `rtol`: the convergence tolerance (default 1e-4).
    - `early_stop`: default True (hopjax's per-sample stop).
    - `train_examples`, `test_examples`: `None` for the whole split.

    A `TrainConfig` is frozen and serialises to JSON (`to_dict`, `from_dict`,
    `to_json`), which checkpoints use to refuse a resumption with other settings.
    """

    model: str = "ham"
    layer_sizes: Sequence[int] = PAPER_LAYERS[3]  # stored as a tuple
    update: str = "even_odd"
    solver: str = "anderson"
    backward: str = "rbp-unrolled"
    epochs: int = 10
    seed: int = 0
    dataset: str = "fashion-mnist"
    data_dir: str | os.PathLike | None = None
    batch_size: int = 64
    learning_rate: float | None = None
    max_steps: int | None = None
    backward_steps: int | None = None
    rtol: float = 1e-4
    early_stop: bool = True
    train_examples: int | None = None
    test_examples: int | None = None

    def __post_init__(self):
        sizes = check_layer_sizes(self.layer_sizes)
        if len(sizes) < 3:
            raise ValueError(
                "layer_sizes needs an input and at least two state layers, got "
                f"{sizes}."
            )
        object.__setattr__(self, "layer_sizes", sizes)
        if isinstance(self.data_dir, os.PathLike):
            object.__setattr__(self, "data_dir", os.fspath(self.data_dir))
        for name, value, allowed in (
            ("model", self.model, MODELS),
            ("update", self.update, UPDATES),
            ("solver", self.solver, SOLVERS),
            ("backward", self.backward, BACKWARDS),
        ):
            if value not in allowed:
                raise ValueError(f"{name} must be one of {sorted(allowed)}, got {value!r}.")
        dataset_key(self.dataset)  # a name load_dataset knows, checked before any run
        if self.data_dir is not None and not isinstance(self.data_dir, str):
            raise TypeError(f"data_dir must be a string or a path, got {self.data_dir!r}.")
        if self.data_dir == "":
            raise ValueError("data_dir is empty; give a directory, or None for the default.")
        for name in ("epochs", "batch_size"):  # kept as Python ints: the settings are JSON
            object.__setattr__(self, name, check_positive_int(name, getattr(self, name)))
        for name in ("max_steps", "backward_steps", "train_examples", "test_examples"):
            count = check_positive_int(name, getattr(self, name), allow_none=True)
            object.__setattr__(self, name, count)
        if self.backward_steps is not None and self.backward not in _STEPPED_BACKWARDS:
            raise ValueError(
                f"backward_steps sets the steps of backward {' / '.join(_STEPPED_BACKWARDS)}; "
                f"backward={self.backward!r} takes none, got backward_steps={self.backward_steps}."
            )
        if not (is_count(self.seed, minimum=0) and self.seed < 2**63):
            raise ValueError(f"seed must be an integer in [0, 2**63), got {self.seed!r}.")
        object.__setattr__(self, "seed", int(self.seed))
        if self.learning_rate is not None:
            why = " (Madam scales weights by exp(±lr·3) per step)"
            rate = _in_unit_interval("learning_rate", self.learning_rate, why)
            object.__setattr__(self, "learning_rate", rate)
        object.__setattr__(self, "rtol", _in_unit_interval("rtol", self.rtol))
        check_flag("early_stop", self.early_stop)
        object.__setattr__(self, "early_stop", bool(self.early_stop))  # np.bool_ too; JSON

    # -- the papers' recipe ------------------------------------------------------------
    @property
    def damping(self) -> float:
        """0.5 for a synchronous CHN (the papers' damping), else 0."""
        return papers_damping(MODELS[self.model], self.update)

    @property
    def _iteration_scale(self) -> int:
        return int((len(self.layer_sizes) // 2) / (1 - self.damping))

    @property
    def resolved_max_steps(self) -> int:
        """`max_steps`, or the papers' forward cap (40 / 80 / 120; 80 for a synchronous
        3-layer CHN)."""
        return self.max_steps or 40 * self._iteration_scale

    @property
    def resolved_backward_steps(self) -> int:
        """`backward_steps`, or the papers' recurrent-backprop steps (8 / 16 / 24; 16 for
        a synchronous 3-layer CHN)."""
        return self.backward_steps or 8 * self._iteration_scale

    @property
    def resolved_learning_rate(self) -> float:
        """`learning_rate`, or the papers' 0.01 (3 layers) / 0.005 (more)."""
        if self.learning_rate is not None:
            return self.learning_rate
        return 0.01 if len(self.layer_sizes) == 3 else 0.005

    # -- building blocks ---------------------------------------------------------------
    def make_model(self, key) -> hj.AbstractHopfieldNetwork:
        """A freshly initialised model from the PRNG `key`."""
        return MODELS[self.model](self.layer_sizes, key=key)

    def make_backward(self) -> hj.AbstractBackward:
        """The backward mode named by `backward` (with `resolved_backward_steps` for
        `"rbp"`; `backward_steps` as `max_steps` for `"fixed-point"`, or
        [`hopjax.FixedPointAdjoint`][]'s default)."""
        steps = self.resolved_backward_steps
        return {
            "rbp": lambda: hj.RecurrentBackprop(steps),
            "rbp-unrolled": lambda: hj.UnrolledRecurrentBackprop(steps),
            "fixed-point": lambda: hj.FixedPointAdjoint(
                **({"max_steps": self.backward_steps} if self.backward_steps else {})
            ),
            "gmres": lambda: hj.GMRESAdjoint(),
            "unrolled": lambda: hj.UnrolledBackprop(),
        }[self.backward]()

    def solve_options(self, *, backward: bool = True) -> dict[str, Any]:
        """Keyword arguments for [`hopjax.solve`][]: `update`, `solver`, `rtol`,
        `max_steps`, `early_stop`, and `backward` unless `backward=False` (evaluation)."""
        options = dict(
            update=self.update,
            solver=SOLVERS[self.solver](),
            rtol=self.rtol,
            max_steps=self.resolved_max_steps,
            early_stop=self.early_stop,
        )
        if backward:
            options["backward"] = self.make_backward()
        return options

    def make_schedule(self, steps_per_epoch: int) -> optax.Schedule:
        """The papers' linear decay to 1/10, stepped per epoch."""
        return epoch_linear_decay(self.resolved_learning_rate, steps_per_epoch, self.epochs)

    def make_optimiser(self, steps_per_epoch: int) -> optax.GradientTransformation:
        """Madam (`p_scale=1024`, `g_bound=3`) on `make_schedule`, each tensor bounded
        as in the papers' storage for this update scheme (`papers_reference_rms`)."""
        return madam(
            self.make_schedule(steps_per_epoch),
            reference_rms=papers_reference_rms(self.update),
        )

    def keys(self):
        """`(model_key, data_key)` from `seed`."""
        return tuple(jax.random.split(jax.random.key(self.seed)))

    def initial_state(self, steps_per_epoch: int):
        """`(model, optimiser, opt_state, data_key)` at the start of the run (also the
        structure a checkpoint of this run is read into)."""
        model_key, data_key = self.keys()
        model = self.make_model(model_key)
        optimiser = self.make_optimiser(steps_per_epoch)
        opt_state = optimiser.init(eqx.filter(model, eqx.is_inexact_array))
        return model, optimiser, opt_state, data_key

    # -- serialisation -----------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        """The settings as a JSON-compatible dict."""
        return {**dataclasses.asdict(self), "layer_sizes": list(self.layer_sizes)}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "TrainConfig":
        """The inverse of `to_dict`; unknown keys raise `ValueError`."""
        names = {field.name for field in dataclasses.fields(cls)}
        unknown = set(data) - names
        if unknown:
            raise ValueError(f"Unknown training settings: {sorted(unknown)}.")
        return cls(**data)

    def to_json(self) -> str:
        """`to_dict` as a JSON string with sorted keys."""
        return json.dumps(self.to_dict(), sort_keys=True)


def check_config(name: str, config) -> TrainConfig:
    """``config`` unchanged if it is a `TrainConfig`, else a `TypeError` naming ``name``
    (a settings dict is the usual mistake)."""
    if not isinstance(config, TrainConfig):
        raise TypeError(
            f"{name}: config must be a hopjax.train.TrainConfig (TrainConfig(**settings) "
            f"or TrainConfig.from_dict), got {type(config).__name__}."
        )
    return config
