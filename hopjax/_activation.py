"""Activation functions with the Lagrangian and derivative that the energies need."""

import abc

import equinox as eqx
import jax
import jax.numpy as jnp
from jaxtyping import Array, Float

from ._checks import describe_number, is_finite_real


class AbstractActivation(eqx.Module):
    r"""An elementwise activation $\rho$ with additive Lagrangian $\mathcal{L}$.

    Subclasses provide $\rho(s)$ (`__call__`), $\rho'(s)$ (`derivative`) and
    $\mathcal{L}(s)$ (`lagrangian`) with $\mathcal{L}' = \rho$ (Krotov 2021; main paper
    Table 1). The HAM energy uses $\mathcal{L}$ through $s^T\rho(s) - \mathcal{L}(s)$
    (its Legendre transform), the CHN map uses $\rho'$. All three act elementwise on
    arrays of any shape.
    """

    @abc.abstractmethod
    def __call__(self, s: Float[Array, "*shape"]) -> Float[Array, "*shape"]:
        r"""$\rho(s)$, elementwise."""

    @abc.abstractmethod
    def derivative(self, s: Float[Array, "*shape"]) -> Float[Array, "*shape"]:
        r"""$\rho'(s)$, elementwise."""

    @abc.abstractmethod
    def lagrangian(self, s: Float[Array, "*shape"]) -> Float[Array, "*shape"]:
        r"""$\mathcal{L}(s)$ with $\mathcal{L}' = \rho$, elementwise."""


class ShiftedSigmoid(AbstractActivation):
    r"""The papers' activation $\rho(s) = \sigma(g\,(s - c))$, by default $g = 4$,
    $c = \tfrac12$, so that $\rho(\tfrac12) = \tfrac12$ and $\max \rho' = g/4 = 1$.

    - $\rho'(s) = g\,\rho(s)\,(1 - \rho(s))$
    - $\mathcal{L}(s) = \operatorname{softplus}(g\,(s - c)) / g$

    **Arguments:**

    - `gain`: the slope $g > 0$ (default 4).
    - `centre`: the midpoint $c$ (default 0.5).
    """

    gain: float = 4.0
    centre: float = 0.5

    def __check_init__(self):
        if not (is_finite_real(self.gain) and self.gain > 0):
            raise ValueError(
                f"ShiftedSigmoid needs a finite gain > 0, got {describe_number(self.gain)}."
            )
        if not is_finite_real(self.centre):
            raise ValueError(
                f"ShiftedSigmoid needs a finite centre, got {describe_number(self.centre)}."
            )

    def __call__(self, s):
        return jax.nn.sigmoid(self.gain * (s - self.centre))

    def derivative(self, s):
        r = self(s)
        return self.gain * r * (1 - r)

    def lagrangian(self, s):
        return jax.nn.softplus(self.gain * (s - self.centre)) / self.gain


class Identity(AbstractActivation):
    r"""$\rho(s) = s$, $\rho'(s) = 1$, $\mathcal{L}(s) = s^2/2$: a linear network (for
    tests and theory). No arguments."""

    def __call__(self, s):
        return s

    def derivative(self, s):
        return jnp.ones_like(s)

    def lagrangian(self, s):
        return 0.5 * s**2
