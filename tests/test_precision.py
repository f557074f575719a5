"""hopjax's matrix products are at full precision (`Precision.HIGHEST`: float32
arithmetic for float32) unless the user chose a matmul precision, which is then
honoured. JAX's own default is TensorFloat-32 on NVIDIA GPUs since Ampere (10 mantissa
bits, coarser than the 1e-4 convergence test); a CPU multiplies float32 in float32
whatever the setting, so these tests read the precision each product asks for in the
traced program, not its numbers."""

import equinox as eqx
import jax
import jax.numpy as jnp
import pytest
from jax.extend.core import ClosedJaxpr, Jaxpr

import hopjax as hj

from .helpers import make_model, random_input, random_states


SIZES = (12, 9, 7, 5)
HIGHEST = (jax.lax.Precision.HIGHEST, jax.lax.Precision.HIGHEST)
TENSORFLOAT32 = (jax.lax.Precision.HIGH, jax.lax.Precision.HIGH)  # as JAX records it


def dot_precisions(fn, *args) -> list:
    """The `precision` of every `dot_general` in `fn`'s program, nested ones too."""
    found = []

    def walk(jaxpr):
        for eqn in jaxpr.eqns:
            if eqn.primitive.name == "dot_general":
                found.append(eqn.params["precision"])
            for param in eqn.params.values():
                for sub in param if isinstance(param, (tuple, list)) else (param,):
                    if isinstance(sub, ClosedJaxpr):
                        walk(sub.jaxpr)
                    elif isinstance(sub, Jaxpr):
                        walk(sub)

    walk(jax.make_jaxpr(fn)(*args).jaxpr)
    return found


@pytest.mark.parametrize("backward", ["RecurrentBackprop", "FixedPointAdjoint", "UnrolledBackprop"])
@pytest.mark.parametrize("update", ["synchronous", "even_odd"])
@pytest.mark.parametrize("kind", ["ham", "chn"])
def test_solve_and_its_gradient_multiply_in_float32(kind, update, backward, getkey):
    model = {"ham": hj.HAM, "chn": hj.CHN}[kind](SIZES, key=getkey(), dtype=jnp.float32)
    x = random_input(getkey(), SIZES[0], batch=3, dtype=jnp.float32)

    def loss(model):
        backward_mode = getattr(hj, backward)()
        eq = hj.solve(model, x, update=update, solver=hj.Anderson(), backward=backward_mode)
        return jnp.sum(eq.output**2)

    with jax.default_matmul_precision(None):  # JAX's default, whatever the environment
        precisions = dot_precisions(eqx.filter_grad(loss), model)
    assert precisions and all(p == HIGHEST for p in precisions), precisions


@pytest.mark.parametrize("kind", ["ham", "chn"])
def test_a_chosen_matmul_precision_is_honoured(kind, getkey):
    model = make_model(kind, SIZES, getkey())
    x = random_input(getkey(), SIZES[0])
    states = random_states(getkey(), SIZES)
    programs = {
        "energy": lambda: hj.energy(model, x, states),
        "synchronous_map": lambda: hj.synchronous_map(model, hj.input_drive(model, x), states),
    }
    for name, program in programs.items():
        with jax.default_matmul_precision(None):
            default = dot_precisions(program)
        with jax.default_matmul_precision("tensorfloat32"):
            chosen = dot_precisions(program)
        assert default and all(p == HIGHEST for p in default), (name, default)
        assert chosen and all(p == TENSORFLOAT32 for p in chosen), (name, chosen)
    # spectral_radius's power iteration multiplies by the map's Jacobian in float32 too
    # (its norms are optimistix's, always float32, whatever is chosen)
    with jax.default_matmul_precision(None):
        default = dot_precisions(lambda: hj.spectral_radius(model, x, states, iterations=3))
    assert default and all(p == HIGHEST for p in default), default
