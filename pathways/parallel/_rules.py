"""Partition rules: which mesh axis each parameter dimension is split over.

A rule matches a parameter's dotted path (`decoder.blocks.layers.attn.q_proj.weight`)
with a regular expression and gives one entry per *trailing* dimension: a mesh
axis name or null. Leading dimensions the rule does not cover (a stacked layer
axis) are never split. The first matching rule wins; config rules come before
the defaults, so a user overrides one parameter without restating the rest.

Defaults follow Megatron/GSPMD practice: column-parallel input projections
(`[in, out]` -> `[fsdp, tensor]`), row-parallel output projections
(`[in, out]` -> `[tensor, fsdp]`), vocabulary-parallel embeddings, and
replicated vectors (norm scales, biases, gates).
"""

from __future__ import annotations

import re

import equinox as eqx
import jax
from jax.sharding import Mesh, NamedSharding, PartitionSpec

from pathways._errors import ConfigError, Problem
from pathways.graph import param_key

DEFAULT_RULES: tuple[tuple[str, tuple[str | None, ...]], ...] = (
    (r"(o_proj|down_proj|fc2)\.weight$", ("tensor", "fsdp")),  # row-parallel [in, out]
    (r"(q_proj|k_proj|v_proj|gate_proj|up_proj|fc1|patch_embed|proj)\.weight$", ("fsdp", "tensor")),  # column-parallel
    (r"lora_a$", ("fsdp", None)),
    (r"lora_b$", (None, "tensor")),
    (r"^[^.]+\.weight$", ("tensor", "fsdp")),  # a pathway's own matrix: embedding table [V, D], untied LM head [D, V]
    (r"conv\d\.weight$", (None, None, "tensor")),
    (r".*", ()),  # anything else (vectors, scalars, position tables) is replicated
)


def _key(path) -> str:
    # `<pathway>.<param>`, also inside optimizer state (`1.0.mu.pathways.decoder...`), whose
    # moments then shard exactly like the parameters they track.
    return param_key(path).split("pathways.", 1)[-1]


def _is_param(x) -> bool:
    """An array, or its abstract stand-in (specs of a model built with `build_abstract`)."""
    return eqx.is_array(x) or isinstance(x, jax.ShapeDtypeStruct)


def _compile(rules) -> list[tuple[re.Pattern, tuple[str | None, ...], str | None]]:
    """(pattern, spec, where) for the config's rules, then the defaults (whose `where` is None)."""
    compiled, problems = [], []
    for i, (pattern, spec) in enumerate(rules):
        try:
            compiled.append((re.compile(pattern), tuple(spec), f"mesh.rules.{i}"))
        except (re.error, OverflowError, RecursionError) as exc:
            problems.append(Problem(f"mesh.rules.{i}.match", f"{pattern!r} is not a valid regular expression: {str(exc) or type(exc).__name__}"))
    if problems:
        raise ConfigError(problems)
    return compiled + [(re.compile(p), s, None) for p, s in DEFAULT_RULES]


def param_specs(tree, mesh: Mesh, rules=()) -> object:
    """A pytree of `PartitionSpec` for the array leaves of `tree` (None elsewhere).

    Paths are matched as checkpoints name them (`<pathway>.<parameter path>`).
    Raises `ConfigError` naming parameter, dimension and axis where a dimension
    is not divisible by the mesh axis it is split over, placed at the config
    rule that split it (`mesh.rules.N`) or, for a default rule, at the axis.
    Works on abstract leaves (`ShapeDtypeStruct`), so `validate` checks a mesh
    without allocating the model.
    """
    compiled = _compile(rules)
    problems = []

    def spec_for(path, leaf):
        if not _is_param(leaf):
            return None
        name = _key(path)
        trailing, where = next((s, w) for p, s, w in compiled if p.search(name))
        if len(trailing) > leaf.ndim:
            trailing = ()
        axes = (None,) * (leaf.ndim - len(trailing)) + trailing
        for dim, axis in enumerate(axes):
            if axis is not None and leaf.shape[dim] % mesh.shape[axis]:
                problems.append(
                    Problem(
                        where or f"mesh.axes.{axis}",
                        f"parameter {name}: dimension {dim} of size {leaf.shape[dim]} is not divisible by mesh axis {axis!r} of size {mesh.shape[axis]}",
                    )
                )
                return PartitionSpec()
        return PartitionSpec(*[a if a is None or mesh.shape[a] > 1 else None for a in axes])

    specs = jax.tree_util.tree_map_with_path(spec_for, eqx.filter(tree, _is_param))
    if problems:
        raise ConfigError(problems)
    return specs


def shardings(tree, mesh: Mesh, rules=()) -> object:
    """`NamedSharding` for each array leaf of `tree` (None elsewhere), by `param_specs`."""
    specs = param_specs(tree, mesh, rules)
    return jax.tree.map(lambda s: NamedSharding(mesh, s), specs, is_leaf=lambda s: isinstance(s, PartitionSpec))
