"""Type aliases shared across hopjax (jaxtyping)."""

from typing import TypeAlias

from jaxtyping import Array, Bool, Float, Int, Shaped


Scalar: TypeAlias = Shaped[Array, ""]
BoolScalar: TypeAlias = Bool[Array, ""]
IntScalar: TypeAlias = Int[Array, ""]

#: The per-layer states ``(s_1, ..., s_L)`` of one sample. In an even-odd solve of a
#: HAM the layers of the parity that is not modelled are ``None``.
States: TypeAlias = tuple[Float[Array, " _"] | None, ...]

#: Per-layer constant drive ``b_j + sum_{(0, j)} rho(x) W``, computed once per solve.
Drive: TypeAlias = tuple[Float[Array, " _"], ...]
