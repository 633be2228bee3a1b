"""A training run from a config: what stays fixed (`Run`), what training changes (`TrainState`),
and the named steps that make them (build, load, adapt, shard, init, restore).

`prepare` is those steps in order; each is a plain function that can be called and tested alone.
"""

from __future__ import annotations

import dataclasses
import difflib
from pathlib import Path
from typing import Any

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
import pydantic

from pathways._errors import ConfigError, Problem
from pathways.adapters import LoRA
from pathways.config import AdapterSpec, LoadedConfig, load_config, resolved_yaml
from pathways.data import Batcher, MixtureBatcher, PackedBatcher, open_dataset
from pathways.graph import Graph, ResolvedGraph, build, resolve
from pathways.train import _checkpoint as ckpt
from pathways.train._loss import SEQUENCE_LOSSES
from pathways.train._optim import learning_rate, make_optimizer
from pathways.train._partition import Selection, parameter_counts, select
from pathways.train._resume import check_tokenizer, config_changes, config_hash
from pathways.train._state import CheckpointState
from pathways.train._step import make_loss_fn, make_train_step

# --------------------------------------------------------------------------- the command line


@dataclasses.dataclass
class Overrides:
    """What the command line changes in the config's `train` section."""

    steps: int | None = None
    lr: float | None = None
    trainable: list[str] | None = None  # --pathway
    adapter: str | None = None  # --adapter TYPE
    adapter_config: dict[str, Any] = dataclasses.field(default_factory=dict)  # --adapter-config KEY=VALUE
    lora_rank: int | None = None  # --lora-rank R: shorthand for --adapter lora --adapter-config rank=R


def _override(model: pydantic.BaseModel, flag: str, **update):
    """`model` with `update` applied and validated by the same field constraints as the YAML."""
    try:
        return type(model).model_validate({**model.model_dump(), **update})
    except pydantic.ValidationError as exc:
        raise ConfigError([Problem(flag, f"{e['msg']} (got {e['input']!r})") for e in exc.errors()]) from None


def _adapter_override(current: AdapterSpec | None, o: Overrides) -> AdapterSpec | None:
    """`train.adapter` as `--adapter`, `--adapter-config` and `--lora-rank` change it."""
    kind, lora = o.adapter, LoRA.type_name  # --lora-rank is the built-in LoRA's shorthand
    if o.lora_rank is not None:
        if kind is not None and kind != lora:
            raise ConfigError([Problem("--lora-rank", f"sets the rank of a 'lora' adapter, but --adapter is {kind!r}: drop one of them")])
        if kind is None and current is not None and current.type != lora:
            raise ConfigError([Problem("--lora-rank", f"sets the rank of a 'lora' adapter, but train.adapter.type is {current.type!r}: add --adapter lora to replace it, or drop --lora-rank")])
        kind = lora
    if kind is None and not o.adapter_config and o.lora_rank is None:
        return current
    if kind is None and current is None:
        raise ConfigError([Problem("--adapter-config", "there is no adapter to configure: add --adapter TYPE (or train.adapter in the config)")])
    kind = kind or current.type
    config = dict(current.config) if current is not None and current.type == kind else {}
    config.update(o.adapter_config)
    if o.lora_rank is not None:
        config["rank"] = o.lora_rank
    spec = AdapterSpec(type=kind, config=config)
    try:  # an unknown type or a bad value is named by its flag
        Selection.from_config(None, spec, type_at=("--adapter",), config_at=("--adapter-config",))
    except ConfigError as exc:
        flag = {"--adapter-config.rank": "--lora-rank"} if o.lora_rank is not None else {}
        raise ConfigError([dataclasses.replace(p, where=flag.get(p.where, p.where)) for p in exc.problems]) from None
    return spec


def apply_overrides(loaded: LoadedConfig, o: Overrides) -> LoadedConfig:
    spec = loaded.spec
    if spec.train is None or spec.data is None:
        missing = [s for s in ("data", "train") if getattr(spec, s) is None]
        raise ConfigError([Problem(s, f"training needs a '{s}' section") for s in missing])
    train = spec.train
    if o.steps is not None:
        train = _override(train, "--steps", steps=o.steps)
    if o.lr is not None:
        train = train.model_copy(update={"optimizer": _override(train.optimizer, "--lr", lr=o.lr)})
    if o.trainable is not None:
        known = sorted(map(str, spec.pathways))
        problems = []
        for name in o.trainable:
            if name not in known:
                close = difflib.get_close_matches(name, known, n=1)
                hint = f"; did you mean {close[0]!r}?" if close else ""
                problems.append(Problem("--pathway", f"{name!r} is not a pathway of this config{hint} (pathways: {', '.join(known)})"))
        if problems:
            raise ConfigError(problems)
        train = train.model_copy(update={"trainable": o.trainable})
    train = train.model_copy(update={"adapter": _adapter_override(train.adapter, o)})
    return dataclasses.replace(loaded, spec=spec.model_copy(update={"train": train}))


# --------------------------------------------------------------------------- what changes, what does not


class TrainState(eqx.Module):
    """Everything training changes, as one pytree; the loop, checkpointing and resume take and return it.

    `trainable` is the differentiated half (None where frozen), `frozen` the rest;
    `combine`d they are the model. `data_position` is the index of the next (micro-)batch
    the batcher gives (`grad_accum` of them per step); `rng` is the run's key, from which
    anything random per step is to be drawn by folding in `step` (no built-in pathway
    draws any yet: there is no dropout).
    """

    trainable: Graph
    frozen: Graph
    opt_state: Any
    step: int
    data_position: int
    rng: jax.Array

    @property
    def model(self) -> Graph:
        return eqx.combine(self.trainable, self.frozen)

    def advanced(self, trainable, opt_state, batches: int) -> "TrainState":
        """The state after one optimizer step that read `batches` (micro-)batches."""
        return dataclasses.replace(self, trainable=trainable, opt_state=opt_state, step=self.step + 1, data_position=self.data_position + batches)


@dataclasses.dataclass
class Run:
    """What a training loop needs and never changes: config, graph, selection, data, optimizer, jitted steps."""

    loaded: LoadedConfig
    graph: ResolvedGraph
    selection: Selection
    filter: Any  # the static filter tree: True on the leaves that train
    batcher: Batcher | MixtureBatcher
    eval_batcher: Batcher | MixtureBatcher | None
    optimizer: Any
    step_fn: Any
    eval_fn: Any
    schedule: Any
    notes: list[str]
    base_checkpoint: str | None  # absolute path of the checkpoint the run started from
    mesh: Any = None  # jax.sharding.Mesh when the config has a `mesh` section
    base_sha256: str | None = None  # of the base's weights, so an adapter checkpoint finds exactly its base
    data_counts: dict[str, float] = dataclasses.field(default_factory=dict)  # the batcher's counts of the last batch (`counts`)

    @property
    def train(self):
        return self.loaded.spec.train

    def counts(self, state: TrainState) -> dict[str, tuple[int, int]]:
        """(trainable, frozen) parameters per pathway, in execution order."""
        counts = parameter_counts(state.model, self.filter)
        return {name: counts[name] for name in self.graph.nodes}

    def saved_params(self, state: TrainState) -> dict[str, np.ndarray]:
        """What a checkpoint stores: the whole model, or only the adapters of an adapter run."""
        if self.selection.adapter is None:
            return ckpt.model_params(state.model)
        return ckpt.flatten(state.trainable.pathways)

    def checkpoint_state(self, state: TrainState) -> CheckpointState:
        trained = tuple(sorted(n for n, (t, _) in self.counts(state).items() if t))
        adapter = self.selection.adapter_record
        return CheckpointState(
            step=state.step,
            seed=self.train.seed,
            data_position=state.data_position,
            trainable=trained,
            config_sha256=config_hash(self.config(in_checkpoint=True)),
            tokenizer=self.graph.tokenizer.identity if self.graph.tokenizer else None,
            base_checkpoint=self.base_checkpoint,
            base_sha256=self.base_sha256,
            adapter=None if adapter is None else {**adapter, "pathways": list(trained)},
        )

    def config(self, *, in_checkpoint: bool) -> dict[str, Any]:
        return run_config(self.loaded, self.graph.tokenizer, in_checkpoint=in_checkpoint)

    def extra_files(self) -> dict[str, bytes]:
        """Files a checkpoint carries besides tensors: the SentencePiece model, so it is self-contained."""
        tok = self.graph.tokenizer
        return {"tokenizer.model": tok.path.read_bytes()} if getattr(tok, "path", None) else {}

    def batch(self, position: int) -> dict[str, np.ndarray]:
        """The training batch that starts at example batch `position`; `[grad_accum, B, ...]` when accumulating."""
        k = self.train.grad_accum
        micro = [self.batcher.batch_at(position + i) for i in range(k)]
        self.data_counts = {}  # what the batcher counts of its batches (a mixture: per source), summed over the micro-batches
        for i, m in enumerate(micro):
            for key, v in self.batcher.counts(position + i, m).items():
                self.data_counts[key] = self.data_counts.get(key, 0.0) + v
        batch = micro[0] if k == 1 else {name: np.stack([m[name] for m in micro]) for name in micro[0]}
        return self.place(batch, leading=int(k > 1))

    def place(self, batch: dict, leading: int = 0) -> dict:
        """On a mesh, the batch split over the data axes (every process builds the same global batch)."""
        if self.mesh is None:
            return batch
        from pathways.parallel import place_batch

        return place_batch(batch, self.mesh, leading=leading)


def run_config(loaded: LoadedConfig, tokenizer, *, in_checkpoint: bool) -> dict[str, Any]:
    """The resolved config; its tokenizer path points at the checkpoint's copy, or is made absolute."""
    config = resolved_yaml(loaded)
    if getattr(tokenizer, "path", None):
        config["tokenizer"] = "tokenizer.model" if in_checkpoint else str(tokenizer.path.resolve())
    return config


# --------------------------------------------------------------------------- the named steps


def _check_losses(graph: ResolvedGraph) -> list[Problem]:
    problems = []
    for i, loss in enumerate(graph.loaded.spec.train.losses):
        if loss.logits not in graph.values or loss.logits.startswith("batch."):
            problems.append(Problem(f"train.losses.{i}.logits", f"{loss.logits!r} is not an output of any pathway"))
        if not loss.targets.startswith("batch.") or loss.targets not in graph.values:
            problems.append(Problem(f"train.losses.{i}.targets", f"{loss.targets!r} is not a batch field (batch.FIELD)"))
        if loss.mask is not None:
            where, batch = f"train.losses.{i}.mask", graph.batch
            name = loss.mask.removeprefix("batch.")
            if loss.type not in SEQUENCE_LOSSES:
                problems.append(Problem(where, f"a {loss.type} loss takes no mask (those that do: {', '.join(sorted(SEQUENCE_LOSSES))})"))
            elif not loss.mask.startswith("batch.") or name not in batch:
                problems.append(Problem(where, f"{loss.mask!r} is not a batch field (batch.FIELD)"))
            elif batch[name].dtype != bool:
                problems.append(Problem(where, f"{loss.mask} is {batch[name].dtype}; a loss mask is bool"))
            elif (target := batch.get(loss.targets.removeprefix("batch."))) is not None and batch[name].shape != target.shape:
                problems.append(Problem(where, f"{loss.mask} has shape {list(batch[name].shape)}, {loss.targets} has {list(target.shape)}"))
        if graph.loaded.spec.data is not None and graph.loaded.spec.data.packing and loss.type in SEQUENCE_LOSSES and loss.segment_ids != "batch.segment_ids":
            problems.append(Problem(f"train.losses.{i}.segment_ids", "rows are packed: set `segment_ids: batch.segment_ids`, or the loss predicts each example's first token from the one before"))
    if graph.loaded.spec.data is not None and graph.loaded.spec.data.packing:
        read = graph.read
        for name, why in (("segment_ids", "attention crosses from one packed example into the next"), ("positions", "RoPE positions run on across packed examples")):
            if name in graph.batch and f"batch.{name}" not in read:
                problems.append(Problem("data.packing", f"no pathway reads batch.{name}: wire it into the decoder ({name}: batch.{name}), or {why}"))
    return problems


def open_data(loaded: LoadedConfig, graph: ResolvedGraph) -> tuple[Batcher | MixtureBatcher, Batcher | MixtureBatcher | None]:
    """The training batcher and the held-out one (None without an `eval_config`); a `mixture` gives mixture batchers."""
    spec, seed = loaded.spec, loaded.spec.train.seed

    def batcher_for(at: str, source, config: dict, place: str, whole: bool) -> Batcher:
        mark = loaded.marks.get(tuple(int(p) if p.isdigit() else p for p in f"{at}.{place}".split(".")))  # file datasets' paths are relative to the file that wrote them
        base_dir = Path(mark.file if mark is not None else loaded.path).parent
        try:
            dataset = open_dataset(source.dataset, config, where=(f"{at}.dataset", f"{at}.{place}"), base_dir=base_dir)
            if spec.data.packing:
                return PackedBatcher(dataset, graph.batch, source.fields, graph.tokenizer, seed=seed, at=at)
            return Batcher(dataset, graph.batch, source.fields, graph.tokenizer, seed=seed, at=at, whole_batches=whole)
        except ConfigError as exc:  # point into the YAML file
            raise ConfigError(loaded.locate(exc.problems)) from None

    if spec.data.mixture is None:
        ((at, source),) = spec.data.sources
        evaluation = None if source.eval_config is None else batcher_for(at, source, source.eval_config, "eval_config", True)
        return batcher_for(at, source, source.config, "config", True), evaluation
    names = mixture_names(spec.data.mixture)
    live = [(at, s, n) for (at, s), n in zip(spec.data.sources, names) if s.weight > 0]

    def mix(entries, place: str) -> MixtureBatcher:
        batchers = [batcher_for(at, s, getattr(s, place), place, False) for at, s, _ in entries]
        return MixtureBatcher(batchers, [s.weight for _, s, _ in entries], [n for *_, n in entries], seed=seed)

    held = [(at, s, n) for at, s, n in live if s.eval_config is not None]
    return mix(live, "config"), mix(held, "eval_config") if held else None


def mixture_names(sources) -> list[str]:
    """Each source's name in metrics: its `name`, else its dataset's, numbered where a dataset is used twice."""
    base = [s.name or s.dataset for s in sources]
    return [f"{b}.{base[:i].count(b)}" if base.count(b) > 1 and not s.name else b for i, (b, s) in enumerate(zip(base, sources))]


def load_weights(model: Graph, source: ckpt.Checkpoint, *, fresh_ok: set[str], tokenizer=None) -> tuple[Graph, list[str]]:
    """`model` with a checkpoint's whole weights; pathways in `fresh_ok` may be missing from it (they train from scratch)."""
    check_tokenizer(source, tokenizer)
    if source.state.adapter:
        raise ConfigError([Problem("--from", f"{source.path} holds adapters only: merge it first (`pathways lora-merge {source.path} --out DIR`)")])
    return ckpt.load_into(model, source.params, fresh_ok)


# Roles whose weights only make sense with the tokenizer they were trained with.
TOKEN_ROLES = frozenset({"token_embedding", "lm_head", "cached_decoder"})


def init_sources(loaded: LoadedConfig) -> list[tuple[Path, list[str] | None, str]]:
    """`train.init_from`'s checkpoints (paths relative to the file that names them), pathways and config key."""
    out = []
    for i, spec in enumerate(loaded.spec.train.init_from or ()):
        where = f"train.init_from.{i}"
        mark = loaded.marks.get(("train", "init_from", i, "checkpoint"))
        folder = Path(mark.file if mark is not None else loaded.path).parent
        out.append((folder / spec.checkpoint, spec.pathways, where))
    return out


def load_sources(model: Graph, sources, *, fresh_ok: set[str], tokenizer=None) -> tuple[Graph, list[str]]:
    """`model` with each pathway's weights from the one checkpoint that `sources` (from `init_sources`) loads it from."""
    problems, combined, claimed = [], {}, {}
    for path, names, where in sources:
        source = ckpt.load(path)
        if source.state.adapter:
            problems.append(Problem(f"{where}.checkpoint", f"{source.path} holds adapters only: merge it first (`pathways lora-merge`)"))
            continue
        has = sorted({k.split(".", 1)[0] for k in source.params})
        for name in names if names is not None else [n for n in has if n in model.pathways]:
            if name not in model.pathways:
                problems.append(Problem(f"{where}.pathways", f"{name!r} is not a pathway of this graph"))
            elif name not in has:
                problems.append(Problem(f"{where}.pathways", f"{source.path} has no pathway {name!r} (it has {', '.join(has)})"))
            elif name in claimed:
                problems.append(Problem(f"{where}.pathways", f"pathway {name!r} is loaded from both {claimed[name]} and {source.path}: name it once"))
            else:
                if type(model.pathways[name]).roles & TOKEN_ROLES:  # token ids mean what this source's tokenizer says
                    check_tokenizer(source, tokenizer)
                claimed[name] = source.path
                combined |= {k: v for k, v in source.params.items() if k.split(".", 1)[0] == name}
    if problems:
        raise ConfigError(problems)
    model, notes = ckpt.load_into(model, combined, fresh_ok)
    return model, notes + [f"pathway {n!r} from {p}" for n, p in claimed.items()]


def shard(tree, mesh, rules) -> Any:
    """`tree` placed on the mesh by the partition rules (unchanged without a mesh): the one sharding expression."""
    if mesh is None:
        return tree
    from pathways.parallel import place, shardings

    return place(tree, shardings(tree, mesh, [(r.match, r.spec) for r in rules]))


def init_state(model: Graph, filter_spec, optimizer, *, seed: int, mesh=None, rules=()) -> TrainState:
    """The state at step 0: the model split by `filter_spec`, fresh optimizer state for the trainable half."""
    trainable, frozen = eqx.partition(model, filter_spec)
    # Under jit the moments take the shardings of the parameters they track; placed here, they start that way.
    opt_state = shard(optimizer.init(eqx.filter(trainable, eqx.is_inexact_array)), mesh, rules)
    return TrainState(trainable, frozen, opt_state, 0, 0, jax.random.key(seed))


def check_resumable(c: ckpt.Checkpoint, loaded: LoadedConfig, tokenizer, trained: set[str], *, allow_config_change: bool) -> list[str]:
    """Refuse to resume from a checkpoint that trained other pathways than `trained`, or was written with another
    tokenizer or config; notes for the config changes `allow_config_change` lets through."""
    check_tokenizer(c, tokenizer)
    saved = set(c.state.trainable)
    if saved != trained:
        raise ckpt.CheckpointError(
            [Problem("--resume", f"the run trained {sorted(saved)} but this command trains {sorted(trained)}: resume with the same --pathway selection", str(c.path))]
        )
    changed = config_changes(c.config, run_config(loaded, tokenizer, in_checkpoint=True))
    if changed and not allow_config_change:
        hint = Problem("--allow-config-change", "pass it to resume with the new values anyway (the run will no longer equal an uninterrupted one)")
        raise ckpt.CheckpointError([dataclasses.replace(p, file=str(c.path)) for p in changed] + [hint])
    return [f"resuming with a changed config: {p.message}" for p in changed]


def restore(state: TrainState, c: ckpt.Checkpoint, *, adapter: bool, grad_accum: int, mesh=None, rules=()) -> TrainState:
    """`state` continued from checkpoint `c`: its step, data position, optimizer state and (adapter runs) adapters.

    A whole-model run's weights were loaded before (`load_weights`); an adapter run's
    checkpoint holds only the adapters, which go into the trainable half here.
    """
    trainable = state.trainable
    if adapter:
        pathways = ckpt.unflatten(trainable.pathways, c.params, source=str(c.path / "model.safetensors"))
        trainable = eqx.tree_at(lambda t: t.pathways, trainable, shard(pathways, mesh, rules))
    opt_state = state.opt_state
    if jax.tree.leaves(eqx.filter(opt_state, eqx.is_array)):  # without it a resumed run would not continue exactly
        opt_state = shard(ckpt.unflatten(opt_state, c.optimizer_state(), source=str(c.path / "optimizer.safetensors")), mesh, rules)
    position = c.state.data_position if c.state.data_position is not None else c.state.step * grad_accum
    return dataclasses.replace(state, trainable=trainable, opt_state=opt_state, step=c.state.step, data_position=position)


def prepare(
    config_path: str | Path,
    overrides: Overrides = Overrides(),
    *,
    init_from: str | None = None,
    resume_from: Path | None = None,
    allow_config_change: bool = False,
    check_memory: bool = True,
) -> tuple[Run, TrainState]:
    """The run and its state to start from: built, loaded, adapted, sharded, initialised and (with `resume_from`) restored.

    Resuming with a config that changed in anything but bookkeeping is refused
    (one problem per changed field) unless `allow_config_change`, which notes them.
    """
    loaded = apply_overrides(load_config(config_path), overrides)
    spec, train = loaded.spec, loaded.spec.train
    graph = resolve(loaded)
    problems = _check_losses(graph)
    if problems:
        raise ConfigError(loaded.locate(problems))
    try:
        sel = Selection.from_config(train.trainable, train.adapter)
    except ConfigError as exc:
        raise ConfigError(loaded.locate(exc.problems)) from None
    if sel.adapter is not None:  # recorded as validated, defaults filled in: `{rank: 8}` and `{}` are one LoRA
        adapter = train.adapter.model_copy(update={"config": sel.config.model_dump(mode="json")})
        train = train.model_copy(update={"adapter": adapter})
        loaded = dataclasses.replace(loaded, spec=spec.model_copy(update={"train": train}))
        spec = loaded.spec
        if init_from is None and resume_from is None and not train.init_from:
            raise ConfigError(loaded.locate([Problem("train.adapter", f"an adapter ({sel.adapter.type_name!r}) trains around a base model's weights: start from one with `pathways finetune --from CKPT`")]))
    graph = dataclasses.replace(graph, outputs=tuple(dict.fromkeys(l.logits for l in train.losses)))
    batcher, eval_batcher = open_data(loaded, graph)
    notes: list[str] = []
    if isinstance(batcher, PackedBatcher):
        notes.append(batcher.describe())
    if check_memory:  # before anything is allocated
        from pathways.plan import preflight

        trained = set() if sel.adapter else (set(sel.names) if sel.names else None)
        preflight(graph, "train", trainable=trained, mesh_axes=spec.mesh.axes if spec.mesh else None)

    key = jax.random.key(train.seed)
    model = build(graph, key)  # build
    resumed = ckpt.load(resume_from) if resume_from is not None else None
    base, base_sha256 = (resumed.state.base_checkpoint, resumed.state.base_sha256) if resumed else (None, None)
    if resumed is not None and sel.adapter:  # load: an adapter run resumes on the base it adapts
        model, _ = load_weights(model, ckpt.load(ckpt.base_of(resumed)), fresh_ok=set(), tokenizer=graph.tokenizer)
    elif train.init_from and resumed is None:
        sources = init_sources(loaded)
        if init_from is not None:
            raise ConfigError(loaded.locate([Problem("train.init_from", f"and --from {init_from} both say where the weights start: give one")]))
        if sel.adapter and len(sources) > 1:
            raise ConfigError(loaded.locate([Problem("train.init_from", "an adapter trains around one base checkpoint: list one, or merge the sources first")]))
        try:
            model, loaded_notes = load_sources(model, sources, fresh_ok=set() if sel.adapter else set(sel.names or model.pathways), tokenizer=graph.tokenizer)
        except ConfigError as exc:
            raise ConfigError(loaded.locate(exc.problems)) from None
        notes += loaded_notes
        if len(sources) == 1:
            base, base_sha256 = str(sources[0][0].resolve()), ckpt.content_hash(sources[0][0])
    elif init_from is not None and resumed is None:
        source = ckpt.load(init_from)
        fresh_ok = set() if sel.adapter else set(sel.names or model.pathways)
        model, loaded_notes = load_weights(model, source, fresh_ok=fresh_ok, tokenizer=graph.tokenizer)
        notes += loaded_notes
        base, base_sha256 = str(source.path.resolve()), ckpt.content_hash(source.path)
    model, filter_spec = select(model, sel, key=key)  # adapt
    if resumed is not None:  # checked before its weights are read, so that a changed config is named as such
        trained = {n for n, (t, _) in parameter_counts(model, filter_spec).items() if t}
        notes += check_resumable(resumed, loaded, graph.tokenizer, trained, allow_config_change=allow_config_change)
        if not sel.adapter:  # a whole-model run's weights all come from the checkpoint
            model, _ = load_weights(model, resumed, fresh_ok=set())

    mesh, rules = None, spec.mesh.rules if spec.mesh else []
    if spec.mesh is not None:
        from pathways.parallel import make_mesh

        mesh = make_mesh(spec.mesh.axes)
    model = shard(model, mesh, rules)  # shard
    optimizer = make_optimizer(train)
    state = init_state(model, filter_spec, optimizer, seed=train.seed, mesh=mesh, rules=rules)  # init

    compute = jnp.bfloat16 if train.compute_dtype == "bfloat16" else jnp.float32
    loss_fn = make_loss_fn(train.losses, compute)
    step_fn = make_train_step(loss_fn, optimizer, grad_accum=train.grad_accum)
    eval_fn = eqx.filter_jit(lambda trainable, frozen, batch: loss_fn(trainable, frozen, batch)[0])
    run = Run(loaded, graph, sel, filter_spec, batcher, eval_batcher, optimizer, step_fn, eval_fn, learning_rate(train), notes, base, mesh, base_sha256)
    if resumed is not None:  # restore
        state = restore(state, resumed, adapter=sel.adapter is not None, grad_accum=train.grad_accum, mesh=mesh, rules=rules)
    return run, state
