"""Checking that a component class keeps the contract of `Component`.

`check_contract` runs at registration (cheap: attributes and ports of the
example config). `check_component` goes further for tests: it builds the
component abstractly and runs it on inputs shaped by its own ports, so a plugin
author learns of a port/shape mismatch before a user does.
"""

from __future__ import annotations

import warnings
from typing import Any, Mapping

import equinox as eqx
import jax
import jax.numpy as jnp
import jax.random as jr
import pydantic

from pathways.components._base import KINDS, RENAMED_KINDS, Component
from pathways.components._ports import DTYPE_CLASSES, Port
from pathways.components._roles import role_problem

# Sizes given to shape symbols when making example inputs.
EXAMPLE_DIMS = {"B": 2, "T": 8}
OTHER_DIM = 4
_DEFAULT_DTYPE = {"float": jnp.float32, "int": jnp.int32, "bool": jnp.bool_}


def check_contract(cls: type[Component]) -> str | None:
    """Why `cls` breaks the component contract, or None. Run once, at registration."""
    for attr in ("type_name", "kind", "Config", "example"):
        if not hasattr(cls, attr):
            return f"{cls.__qualname__} does not set {attr}"
    if cls.kind in RENAMED_KINDS:  # still registers, as the new kind
        new = RENAMED_KINDS[cls.kind]
        warnings.warn(f"{cls.__qualname__}: kind {cls.kind!r} is deprecated for components, write kind = {new!r}", FutureWarning, stacklevel=2)
        cls.kind = new
    if cls.kind not in KINDS:
        return f"kind {cls.kind!r} is not one of {', '.join(KINDS)}"
    if not (isinstance(cls.Config, type) and issubclass(cls.Config, pydantic.BaseModel)):
        return "Config is not a pydantic model"
    try:
        ins, outs = cls.ports(cls.Config.model_validate(cls.example))
    except Exception as exc:  # noqa: BLE001 - reported as a contract problem
        return f"example config does not give ports: {type(exc).__name__}: {exc}"
    return role_problem(cls, ins, outs)


def example_inputs(ports: Mapping[str, Port], dims: Mapping[str, int] = EXAMPLE_DIMS) -> dict[str, Any]:
    """Abstract inputs (`ShapeDtypeStruct`s) for every input port, optional ones included."""
    args = {}
    for name, port in ports.items():
        shape = tuple(d if isinstance(d, int) else dims.get(d, OTHER_DIM) for d in port.shape)
        dtype = _DEFAULT_DTYPE.get(port.dtype) if port.dtype in DTYPE_CLASSES else jnp.dtype(port.dtype)
        value = jax.ShapeDtypeStruct(shape, dtype)
        args[name] = (value,) if port.variadic else value
    return args


def check_component(cls: type[Component], config: Mapping[str, Any] | None = None) -> dict[str, jax.ShapeDtypeStruct]:
    """Build `cls` abstractly and run it on inputs shaped by its ports; check the outputs.

    Uses `cls.example` unless `config` is given. Returns the abstract outputs;
    raises `AssertionError` naming the first broken promise. Nothing is allocated.
    """
    problem = check_contract(cls)
    assert problem is None, problem
    cfg = cls.Config.model_validate(cls.example if config is None else config)
    ins, outs = cls.ports(cfg)
    args = example_inputs(ins)
    scope: dict[str, int] = {}
    for name, port in ins.items():
        value = args[name][0] if port.variadic else args[name]
        assert port.match(value, scope) is None, f"input {name}: {port.match(value, scope)}"
    module = eqx.filter_eval_shape(cls, cfg, key=jr.key(0))
    result = eqx.filter_eval_shape(module, **args)
    assert isinstance(result, dict), f"{cls.type_name}.__call__ returned {type(result).__name__}, not a dict"
    assert set(result) == set(outs), f"{cls.type_name} returned outputs {sorted(result)}, its ports say {sorted(outs)}"
    for name, port in outs.items():
        msg = port.match(result[name], scope)
        assert msg is None, f"{cls.type_name} output {name!r}: {msg}"
    return result
