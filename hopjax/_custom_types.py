"""Type aliases shared across hopjax (jaxtyping)."""

from typing import Any, TypeAlias

from jaxtyping import Array, ArrayLike, Bool, Float, Int, PyTree, Real, Shaped


Scalar: TypeAlias = Shaped[Array, ""]
RealScalarLike: TypeAlias = Real[ArrayLike, ""]
BoolScalar: TypeAlias = Bool[Array, ""]
IntScalar: TypeAlias = Int[Array, ""]
Vector: TypeAlias = Float[Array, " n"]

#: The per-layer states ``(s_1, ..., s_L)`` of one sample. In an even-odd solve of a
#: HAM the layers of the parity that is not modelled are ``None``.
States: TypeAlias = tuple[Float[Array, " _"] | None, ...]

#: Per-layer constant drive ``b_j + sum_{(0, j)} rho(x) W``, computed once per solve.
Drive: TypeAlias = tuple[Float[Array, " _"], ...]

Y: TypeAlias = PyTree[Array]
Args: TypeAlias = PyTree[Any]
