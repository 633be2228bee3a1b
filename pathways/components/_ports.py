"""Ports: the typed inputs and outputs of a pathway.

A port declares a dtype class and a shape pattern. Pattern entries are either
ints (must match exactly) or symbols (`"B"`, `"T"`, `"D"`) that bind to the first
size seen on that node and must agree everywhere else on it.
"""

from __future__ import annotations

import dataclasses
from typing import Mapping

import jax
import jax.numpy as jnp
import numpy as np

Dim = int | str

# A port's dtype is a concrete dtype name or one of these classes.
DTYPE_CLASSES = {
    "float": jnp.floating,
    "int": jnp.integer,
    "bool": jnp.bool_,
}


@dataclasses.dataclass(frozen=True)
class Port:
    """One named input or output of a component.

    Attributes:
        shape: pattern such as `("B", "T", 256)`.
        dtype: `"float"` (any floating dtype), `"int"`, `"bool"` or an exact name (`"int32"`).
        doc: one line saying what flows through the port.
        optional: an input that may be left unconnected; it is then not passed, so
            the component's `__call__` gives that argument a default of `None`.
        variadic: an input that takes a list of edges; the component gets a tuple.
            Symbols not already bound on the node bind separately for each item.
    """

    shape: tuple[Dim, ...]
    dtype: str = "float"
    doc: str = ""
    optional: bool = False
    variadic: bool = False

    def describe(self, scope: Mapping[str, int] | None = None) -> str:
        scope = scope or {}
        dims = ",".join(str(scope.get(d, d)) if isinstance(d, str) else str(d) for d in self.shape)
        return f"[{dims}] {self.dtype}"

    def dtype_ok(self, dtype) -> bool:
        if self.dtype in DTYPE_CLASSES:
            return bool(jnp.issubdtype(dtype, DTYPE_CLASSES[self.dtype]))
        return np.dtype(dtype) == np.dtype(self.dtype)

    def match(self, value: jax.ShapeDtypeStruct, scope: dict[str, int]) -> str | None:
        """Check `value` against this port, binding symbols into `scope`.

        Returns None on success, else why it does not match (scope is then unchanged).
        """
        got = describe_value(value)
        if not self.dtype_ok(value.dtype):
            return f"expected {self.describe(scope)}, got {got}: dtype mismatch"
        if len(value.shape) != len(self.shape):
            return f"expected {self.describe(scope)}, got {got}: rank {len(value.shape)} != {len(self.shape)}"
        bound: dict[str, int] = {}
        for axis, (want, size) in enumerate(zip(self.shape, value.shape)):
            if isinstance(want, str):
                have = scope.get(want, bound.get(want))
                if have is None:
                    bound[want] = size
                    continue
                want_size = have
            else:
                want_size = want
            if want_size != size:
                return f"expected {self.describe({**scope, **bound})}, got {got}: axis {axis} is {size}, expected {want_size}"
        scope.update(bound)
        return None


def describe_value(value) -> str:
    return f"[{','.join(str(d) for d in value.shape)}] {np.dtype(value.dtype).name}"
