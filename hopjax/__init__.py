"""hopjax: equilibria of layered Hopfield networks as deep-equilibrium fixed points.

The path of the data: ``x -> model (HAM / CHN) -> map (synchronous | even-odd) ->
solver (Picard | Anderson) -> Equilibrium``, differentiated implicitly.
"""

from ._activation import (
    AbstractActivation as AbstractActivation,
    Identity as Identity,
    ShiftedSigmoid as ShiftedSigmoid,
)
from ._adjoint import (
    AbstractBackward as AbstractBackward,
    FixedPointAdjoint as FixedPointAdjoint,
    GMRESAdjoint as GMRESAdjoint,
    RecurrentBackprop as RecurrentBackprop,
    UnrolledBackprop as UnrolledBackprop,
    UnrolledRecurrentBackprop as UnrolledRecurrentBackprop,
)
from ._energy import energy as energy
from ._implicit import implicit_fixed_point as implicit_fixed_point
from ._maps import (
    auxiliary_layers as auxiliary_layers,
    damped_map as damped_map,
    even_odd_map as even_odd_map,
    initial_states as initial_states,
    input_drive as input_drive,
    layer_fields as layer_fields,
    local_equilibria as local_equilibria,
    modelled_layers as modelled_layers,
    reconstruct_states as reconstruct_states,
    synchronous_map as synchronous_map,
)
from ._model import (
    AbstractHopfieldNetwork as AbstractHopfieldNetwork,
    CHN as CHN,
    HAM as HAM,
)
from ._nonconvergence import (
    AdjointFailureCount as AdjointFailureCount,
    AdjointNonConvergenceWarning as AdjointNonConvergenceWarning,
    count_adjoint_failures as count_adjoint_failures,
    NonConvergenceError as NonConvergenceError,
)
from ._residual import equation_residual as equation_residual
from ._solve import Equilibrium as Equilibrium, solve as solve
from ._solver import (
    Anderson as Anderson,
    anderson_weights as anderson_weights,
    ConvergenceMonitor as ConvergenceMonitor,
    Picard as Picard,
)
from ._stability import spectral_radius as spectral_radius


__version__ = "0.1.0"
