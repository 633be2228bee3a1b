"""Validate a config into a resolved graph without allocating a single parameter.

Steps, each collecting every problem before giving up:
1. resolve each pathway's `type` through the component registry and validate its config;
2. resolve each edge (`batch.FIELD` or `PATHWAY.PORT`) and check required ports are wired;
3. order the pathways topologically (a cycle is an error naming its nodes);
4. propagate abstract shapes: each node's inputs are checked against its ports,
   then `eqx.filter_eval_shape` builds the node and runs it on `ShapeDtypeStruct`s;
5. check the `data`, `train` and `mesh` sections a training run needs (see `_sections`),
   the parameter layout on the abstract parameters of step 4.
"""

from __future__ import annotations

import dataclasses
import graphlib
import zlib
from pathlib import Path
from typing import Any

import equinox as eqx
import jax
import jax.numpy as jnp
import jax.random as jr
import numpy as np

from pathways._errors import ConfigError, Problem
from pathways.components import Component, Port, describe_value
from pathways.config import LoadedConfig
from pathways.graph._sections import data_problems, mesh_problems, train_problems
from pathways.plugins import Registry, component_registry


@dataclasses.dataclass(frozen=True)
class Node:
    """A pathway after validation: its class, validated config, ports and wiring."""

    name: str
    cls: type[Component]
    cfg: Any
    plugin: str
    inputs: dict[str, Port]
    outputs: dict[str, Port]
    wiring: dict[str, str | tuple[str, ...]]  # input port -> reference(s)


@dataclasses.dataclass(eq=False)  # compared by identity: a built `Graph` holds it as a static field
class ResolvedGraph:
    """A config checked end to end: nodes in execution order and the abstract value of every edge."""

    loaded: LoadedConfig
    nodes: dict[str, Node]  # in topological order
    values: dict[str, jax.ShapeDtypeStruct]  # "batch.x" / "node.port" -> abstract value
    outputs: tuple[str, ...]
    tokenizer: Any = None  # ByteTokenizer / SentencePieceTokenizer, when the config names one

    @property
    def read(self) -> set[str]:
        """Every reference some pathway's inputs name (`batch.FIELD`, `PATHWAY.PORT`)."""
        return {r for node in self.nodes.values() for ref in node.wiring.values() for r in (ref if isinstance(ref, tuple) else (ref,))}

    @property
    def batch(self) -> dict[str, jax.ShapeDtypeStruct]:
        return {k.removeprefix("batch."): v for k, v in self.values.items() if k.startswith("batch.")}


def node_key(key: jax.Array, name: str) -> jax.Array:
    """Init key for a pathway: depends on its name only, so adding a node changes no other."""
    return jr.fold_in(key, zlib.crc32(name.encode()) & 0x7FFFFFFF)


def _resolve_nodes(spec, registry: Registry) -> tuple[dict[str, Node], list[Problem]]:
    nodes, problems = {}, []
    for name, p in spec.pathways.items():
        entry, cfg, found = registry.configure(p.type, p.config, type_at=("pathways", name, "type"), config_at=("pathways", name, "config"))
        if found:
            problems += found
            continue
        ins, outs = entry.cls.ports(cfg)
        wiring = {k: (tuple(v) if isinstance(v, list) else v) for k, v in p.inputs.items()}
        nodes[name] = Node(name, entry.cls, cfg, entry.plugin, ins, outs, wiring)
    return nodes, problems


def _check_edges(spec, nodes: dict[str, Node]) -> tuple[dict[str, set[str]], list[Problem]]:
    deps: dict[str, set[str]] = {name: set() for name in nodes}
    problems = []
    for name, node in nodes.items():
        where = f"pathways.{name}.inputs"
        for port, refs in node.wiring.items():
            if port not in node.inputs:
                problems.append(Problem(f"{where}.{port}", f"{node.cls.type_name} has no input {port!r} (inputs: {', '.join(node.inputs)})"))
                continue
            if isinstance(refs, tuple) and not node.inputs[port].variadic:
                problems.append(Problem(f"{where}.{port}", f"input {port!r} takes one edge, got a list of {len(refs)}"))
                continue
            for i, ref in enumerate(refs if isinstance(refs, tuple) else (refs,)):
                at = f"{where}.{port}" + (f".{i}" if isinstance(refs, tuple) else "")
                msg = _check_ref(ref, spec, nodes)
                if msg:
                    problems.append(Problem(at, msg))
                elif not ref.startswith("batch."):
                    deps[name].add(ref.split(".", 1)[0])
        for port, p in node.inputs.items():
            if not p.optional and port not in node.wiring:
                problems.append(Problem(where, f"required input {port!r} {p.describe()} of {node.cls.type_name} is not connected"))
    return deps, problems


def _check_ref(ref: str, spec, nodes: dict[str, Node]) -> str | None:
    if "." not in ref:
        return f"{ref!r} is not a reference: write batch.FIELD or PATHWAY.PORT"
    head, port = ref.split(".", 1)
    if head == "batch":
        if port not in spec.batch:
            return f"{ref!r}: no batch field {port!r} (fields: {', '.join(spec.batch) or 'none'})"
        return None
    if head not in spec.pathways:
        return f"{ref!r} names no pathway {head!r} (pathways: {', '.join(spec.pathways)})"
    if head not in nodes:
        return None  # that pathway has its own problem already
    outs = nodes[head].outputs
    if port not in outs:
        return f"{ref!r}: pathway {head!r} ({nodes[head].cls.type_name}) has no output {port!r} (outputs: {', '.join(outs)})"
    return None


def _batch_values(spec) -> tuple[dict[str, jax.ShapeDtypeStruct], list[Problem]]:
    values, problems = {}, []
    for field, fs in spec.batch.items():
        where = f"batch.{field}"
        shape = []
        for i, d in enumerate(fs.shape):
            if isinstance(d, str):
                if d not in spec.dims:
                    problems.append(Problem(f"{where}.shape.{i}", f"unknown dimension {d!r}: give its size under dims (dims: {', '.join(spec.dims) or 'none'})"))
                    break
                d = spec.dims[d]
            elif d <= 0:
                problems.append(Problem(f"{where}.shape.{i}", f"dimension must be positive, got {d}"))
                break
            shape.append(d)
        else:
            try:
                dtype = np.dtype(fs.dtype)
            except Exception:  # numpy parses dtype strings such as "(2,)i4" and fails in many ways
                dtype = None
            if dtype is None or not (dtype == np.bool_ or jnp.issubdtype(dtype, jnp.number)):
                problems.append(Problem(f"{where}.dtype", f"unknown dtype {fs.dtype[:40]!r}: a batch field is bool or a number type (int32, float32, bfloat16, ...)"))
                continue
            values[f"batch.{field}"] = jax.ShapeDtypeStruct(tuple(shape), dtype)
    return values, problems


def _tokenizer(loaded: LoadedConfig, nodes: dict[str, Node]) -> tuple[Any, list[Problem]]:
    """Load the config's tokenizer and check every `vocab_size` in a pathway config against it."""
    from pathways.data import TokenizerError, load_tokenizer

    spec = loaded.spec.tokenizer
    if spec is None:
        return None, []
    mark = loaded.marks.get(("tokenizer",))
    base_dir = Path(mark.file).parent if mark else Path(loaded.path).parent
    try:
        tok = load_tokenizer(spec, base_dir)
    except TokenizerError as exc:
        return None, [Problem("tokenizer", p.message + (f" ({p.file})" if p.file else "")) for p in exc.problems]
    except (OSError, ValueError, RuntimeError) as exc:  # a NUL byte in the path, `~nobody/x.model`
        return None, [Problem("tokenizer", f"cannot open {spec[:80]!r}: {exc}")]
    problems = []
    for name, node in nodes.items():
        vocab = getattr(node.cfg, "vocab_size", None)
        if vocab is not None and vocab != tok.vocab_size:
            problems.append(
                Problem(f"pathways.{name}.config.vocab_size", f"{vocab} does not match the tokenizer's vocabulary of {tok.vocab_size} ({tok.name})")
            )
    return tok, problems


def _propagate(order, nodes, values, modules) -> list[Problem]:
    """Check every edge's shape and dtype, then abstractly evaluate each node (its module goes into `modules`)."""
    problems = []
    for name in order:
        node = nodes[name]
        refs = [r for v in node.wiring.values() for r in (v if isinstance(v, tuple) else (v,))]
        if any(r not in values for r in refs):
            continue  # an upstream node failed; its problem is already reported
        scope: dict[str, int] = {}
        args: dict[str, Any] = {}
        bad = False
        # Single edges bind symbols first, so variadic items are checked against them.
        for port, refs in sorted(node.wiring.items(), key=lambda kv: isinstance(kv[1], tuple)):
            spec = node.inputs[port]
            items = refs if isinstance(refs, tuple) else (refs,)
            got = []
            for ref in items:
                item_scope = dict(scope)
                msg = spec.match(values[ref], item_scope if spec.variadic else scope)
                if msg:
                    problems.append(Problem(f"pathways.{name}.inputs.{port}", f"edge {ref} -> {name}.{port}: {msg}"))
                    bad = True
                got.append(values[ref])
            args[port] = tuple(got) if isinstance(refs, tuple) else got[0]
        if bad:
            continue
        try:
            module = eqx.filter_eval_shape(node.cls, node.cfg, key=jr.key(0))
            out = eqx.filter_eval_shape(module, **args)
        except Exception as exc:  # a component that rejects what its ports accepted
            shapes = ", ".join(f"{k}={_describe(v)}" for k, v in args.items())
            first = str(exc).strip().splitlines()[0][:300] if str(exc).strip() else ""  # JAX errors run to many lines
            problems.append(Problem(f"pathways.{name}", f"{node.cls.type_name} failed on inputs {shapes}: {type(exc).__name__}: {first}"))
            continue
        modules[name] = module
        for port, p in node.outputs.items():
            if port not in out:
                problems.append(Problem(f"pathways.{name}", f"{node.cls.type_name} did not return its output {port!r} (plugin {node.plugin})"))
                continue
            msg = p.match(out[port], scope)
            if msg:
                problems.append(Problem(f"pathways.{name}", f"{node.cls.type_name} output {port!r} breaks its port: {msg} (plugin {node.plugin})"))
                continue
            values[f"{name}.{port}"] = out[port]
    return problems


def _describe(v) -> str:
    if isinstance(v, tuple):
        return "(" + ", ".join(describe_value(x) for x in v) + ")"
    return describe_value(v)


def resolve(loaded: LoadedConfig, registry: Registry | None = None) -> ResolvedGraph:
    """Validate `loaded` completely; raise `ConfigError` listing every problem found."""
    spec = loaded.spec
    registry = component_registry() if registry is None else registry
    nodes, problems = _resolve_nodes(spec, registry)
    tokenizer, tok_problems = _tokenizer(loaded, nodes)
    problems += tok_problems
    deps, edge_problems = _check_edges(spec, nodes)
    problems += edge_problems
    values, batch_problems = _batch_values(spec)
    problems += batch_problems
    problems += data_problems(spec) + train_problems(spec)
    try:
        order = list(graphlib.TopologicalSorter(deps).static_order())
    except graphlib.CycleError as exc:
        cycle = exc.args[1]
        problems.append(Problem(f"pathways.{cycle[0]}.inputs", f"cycle: {' -> '.join(cycle)}"))
        raise ConfigError(loaded.locate(problems)) from None
    if problems:
        raise ConfigError(loaded.locate(problems))
    modules: dict[str, Any] = {}
    problems = _propagate(order, nodes, values, modules)
    outputs = _outputs(spec, nodes, values, problems)
    batch = {k.removeprefix("batch."): v for k, v in values.items() if k.startswith("batch.")}
    problems += mesh_problems(spec, batch, None if problems else {"pathways": modules})
    if problems:
        raise ConfigError(loaded.locate(problems))
    return ResolvedGraph(loaded, {n: nodes[n] for n in order}, values, outputs, tokenizer)


def _outputs(spec, nodes, values, problems) -> tuple[str, ...]:
    if spec.outputs is not None:
        for i, ref in enumerate(spec.outputs):
            if ref not in values:
                msg = _check_ref(ref, spec, nodes) if "." in ref else f"{ref!r} is not PATHWAY.PORT"
                problems.append(Problem(f"outputs.{i}", msg or f"{ref!r} is not available"))
        return tuple(spec.outputs)
    consumed = {r.split(".", 1)[0] for n in nodes.values() for v in n.wiring.values() for r in (v if isinstance(v, tuple) else (v,))}
    return tuple(f"{n}.{p}" for n in nodes if n not in consumed for p in nodes[n].outputs)
