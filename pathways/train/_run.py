"""Set up a training run from a config: graph, data, initial weights, freezing, optimizer."""

from __future__ import annotations

import dataclasses
import difflib
import hashlib
import json
from pathlib import Path
from typing import Any

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
import pydantic

from pathways._errors import ConfigError, Problem
from pathways.config import LoadedConfig, LoRASpec, load_config, resolved_yaml
from pathways.data import Batcher, open_dataset
from pathways.graph import Graph, ResolvedGraph, build, resolve
from pathways.plugins import adapter_registry
from pathways.train import _checkpoint as ckpt
from pathways.train._optim import learning_rate, make_optimizer
from pathways.train._partition import parameter_counts, trainable_spec
from pathways.train._state import CheckpointState
from pathways.train._step import make_loss_fn, make_train_step


@dataclasses.dataclass
class Overrides:
    """What the command line changes in the config's `train` section."""

    steps: int | None = None
    lr: float | None = None
    trainable: list[str] | None = None
    lora_rank: int | None = None


def config_hash(config: dict[str, Any]) -> str:
    return hashlib.sha256(json.dumps(config, sort_keys=True).encode()).hexdigest()[:16]


def _override(model: pydantic.BaseModel, flag: str, **update):
    """`model` with `update` applied and validated by the same field constraints as the YAML."""
    try:
        return type(model).model_validate({**model.model_dump(), **update})
    except pydantic.ValidationError as exc:
        raise ConfigError([Problem(flag, f"{e['msg']} (got {e['input']!r})") for e in exc.errors()]) from None


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
        if train.lora is not None and o.lora_rank is None and o.trainable != [train.lora.pathway]:
            raise ConfigError([Problem("--pathway", f"{o.trainable} conflicts with train.lora.pathway {train.lora.pathway!r} in the config: "
                                       f"add --lora-rank R to adapt {o.trainable[0]!r} instead, or --pathway {train.lora.pathway}")])
        train = train.model_copy(update={"trainable": o.trainable})
    if o.lora_rank is not None:
        names = train.trainable or []
        if len(names) != 1:
            raise ConfigError([Problem("--lora-rank", f"LoRA adapts exactly one pathway: give one --pathway (got {names or 'none'})")])
        lora = _override(train.lora or LoRASpec(pathway=names[0]), "--lora-rank", rank=o.lora_rank, pathway=names[0])
        train = train.model_copy(update={"lora": lora})
    return dataclasses.replace(loaded, spec=spec.model_copy(update={"train": train}))


# Settings a resumed run may change freely: they decide what is logged and kept, or how the same
# computation is laid out over devices (a checkpoint saved on one mesh resumes on another), not what
# is computed.
BOOKKEEPING = frozenset({"train.log_every", "train.eval_every", "train.checkpoint_every", "train.keep_checkpoints"})
LAYOUT = "mesh"


def _changes(old: Any, new: Any, where: str = "") -> list[tuple[str, Any, Any]]:
    """(dotted place, old, new) for every leaf that differs between two config trees."""
    if isinstance(old, dict) and isinstance(new, dict):
        out = []
        for k in list(old) + [k for k in new if k not in old]:
            out += _changes(old.get(k), new.get(k), f"{where}.{k}" if where else str(k))
        return out
    return [] if old == new else [(where, old, new)]


def config_changes(saved: dict[str, Any], now: dict[str, Any]) -> list[Problem]:
    """What differs between the config a checkpoint was written with and the one resuming it.

    Bookkeeping fields are free; `train.steps` too, except under a cosine schedule,
    whose decay spans `train.steps` (the resumed steps would use other rates).
    """
    cosine = (now.get("train") or {}).get("schedule", {}).get("kind", "cosine") == "cosine"
    problems = []
    for where, old, new in _changes(saved, now):
        if where in BOOKKEEPING or where.split(".")[0] == LAYOUT or (where == "train.steps" and not cosine):
            continue
        why = " (the cosine schedule decays over train.steps)" if where == "train.steps" else ""
        problems.append(Problem("--resume", f"{where} changed since the checkpoint: {old!r} -> {new!r}{why}"))
    return problems


def _check_losses(graph: ResolvedGraph) -> list[Problem]:
    problems = []
    for i, loss in enumerate(graph.loaded.spec.train.losses):
        if loss.logits not in graph.values or loss.logits.startswith("batch."):
            problems.append(Problem(f"train.losses.{i}.logits", f"{loss.logits!r} is not an output of any pathway"))
        if not loss.targets.startswith("batch.") or loss.targets not in graph.values:
            problems.append(Problem(f"train.losses.{i}.targets", f"{loss.targets!r} is not a batch field (batch.FIELD)"))
    return problems


@dataclasses.dataclass
class Run:
    """Everything a training loop needs, built from a config (and optionally a checkpoint)."""

    loaded: LoadedConfig
    graph: ResolvedGraph
    model: Graph  # full model (LoRA-wrapped where configured)
    spec: Any  # trainable filter tree
    batcher: Batcher
    eval_batcher: Batcher | None
    optimizer: Any
    step_fn: Any
    eval_fn: Any
    schedule: Any
    notes: list[str]
    base_checkpoint: str | None  # absolute path of the checkpoint the run started from
    mesh: Any = None  # jax.sharding.Mesh when the config has a `mesh` section
    base_sha256: str | None = None  # of the base's weights, so a LoRA checkpoint finds exactly its base

    @property
    def train(self):
        return self.loaded.spec.train

    def counts(self) -> dict[str, tuple[int, int]]:
        """(trainable, frozen) parameters per pathway, in execution order."""
        counts = parameter_counts(self.model, self.spec)
        return {name: counts[name] for name in self.graph.nodes}

    def saved_params(self, trainable) -> dict[str, np.ndarray]:
        """What a checkpoint stores: the whole model, or only the adapters of a LoRA run."""
        if self.train.lora is None:
            return ckpt.model_params(eqx.combine(trainable, eqx.partition(self.model, self.spec)[1]))
        return ckpt.flatten(trainable.pathways)

    def state(self, step: int) -> CheckpointState:
        return CheckpointState(
            step=step,
            seed=self.train.seed,
            data_position=step * self.train.grad_accum,
            trainable=tuple(sorted(n for n, (t, _) in self.counts().items() if t)),
            config_sha256=config_hash(self.config(in_checkpoint=True)),
            tokenizer=self.graph.tokenizer.identity if self.graph.tokenizer else None,
            base_checkpoint=self.base_checkpoint,
            base_sha256=self.base_sha256,
            lora=self.train.lora.model_dump() if self.train.lora else None,
        )

    def config(self, *, in_checkpoint: bool) -> dict[str, Any]:
        return run_config(self.loaded, self.graph.tokenizer, in_checkpoint=in_checkpoint)

    def extra_files(self) -> dict[str, bytes]:
        """Files a checkpoint carries besides tensors: the SentencePiece model, so it is self-contained."""
        tok = self.graph.tokenizer
        return {"tokenizer.model": tok.path.read_bytes()} if getattr(tok, "path", None) else {}

    def batch(self, step: int) -> dict[str, np.ndarray]:
        """Training batch of optimizer step `step`; `[grad_accum, B, ...]` when accumulating."""
        k = self.train.grad_accum
        if k == 1:
            batch = self.batcher.batch_at(step)
        else:
            micro = [self.batcher.batch_at(step * k + i) for i in range(k)]
            batch = {name: np.stack([m[name] for m in micro]) for name in micro[0]}
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


def check_tokenizer(c: ckpt.Checkpoint, tokenizer) -> None:
    """A checkpoint's embeddings only make sense with the tokenizer it was trained with."""
    saved = c.state.tokenizer
    now = tokenizer.identity if tokenizer is not None else None
    if saved and now and saved != now:
        raise ckpt.CheckpointError(
            [Problem("tokenizer", f"the checkpoint was trained with tokenizer {_describe(saved)}, the config names {_describe(now)}", str(c.path))]
        )


def _describe(identity: dict) -> str:
    if identity.get("type") == "sentencepiece":
        return f"{identity.get('file')} (sentencepiece, vocab {identity['vocab_size']}, sha256 {identity['sha256'][:12]})"
    return f"{identity.get('type')} (vocab {identity.get('vocab_size')})"


def load_model_from_checkpoint(model: Graph, checkpoint: str | Path, trainable: set[str], tokenizer=None) -> tuple[Graph, list[str], str]:
    """Load a checkpoint's weights into `model` (a LoRA checkpoint brings its base and merges nothing)."""
    c = ckpt.load(checkpoint)
    check_tokenizer(c, tokenizer)
    if c.state.lora:
        raise ConfigError([Problem("--from", f"{c.path} holds LoRA adapters only: merge it first (`pathways lora-merge {c.path} --out DIR`)")])
    model, notes = ckpt.load_into(model, c.params, trainable)
    return model, notes, str(c.path.resolve())


def prepare(
    config_path: str | Path,
    overrides: Overrides = Overrides(),
    *,
    init_from: str | None = None,
    resume_from: Path | None = None,
    allow_config_change: bool = False,
    check_memory: bool = True,
) -> tuple[Run, Any, Any, int]:
    """Build the run; returns it with the initial trainable half, optimizer state and start step.

    Resuming with a config that changed in anything but bookkeeping is refused
    (one problem per changed field) unless `allow_config_change`, which notes them.
    """
    loaded = apply_overrides(load_config(config_path), overrides)
    spec = loaded.spec
    graph = resolve(loaded)
    problems = _check_losses(graph)
    if problems:
        raise ConfigError(loaded.locate(problems))
    graph = dataclasses.replace(graph, outputs=tuple(dict.fromkeys(l.logits for l in spec.train.losses)))
    tokenizer = graph.tokenizer
    def batcher_for(config: dict, place: str) -> Batcher:
        try:
            dataset = open_dataset(spec.data.dataset, config, where=("data.dataset", place))
            return Batcher(dataset, graph.batch, spec.data.fields, tokenizer, seed=spec.train.seed)
        except ConfigError as exc:  # point into the YAML file
            raise ConfigError(loaded.locate(exc.problems)) from None

    batcher = batcher_for(spec.data.config, "data.config")
    eval_batcher = None if spec.data.eval_config is None else batcher_for(spec.data.eval_config, "data.eval_config")

    train = spec.train
    if check_memory:  # before anything is allocated
        from pathways.plan import preflight

        preflight(graph, "train", trainable=set() if train.lora else (set(train.trainable) if train.trainable else None), mesh_axes=spec.mesh.axes if spec.mesh else None)
    key = jax.random.key(train.seed)
    model = build(graph, key)
    notes: list[str] = []
    trainable_names = set(train.trainable or model.pathways)
    base = base_sha256 = resumed = None
    if resume_from is not None:
        resumed = ckpt.load(resume_from)
        base, base_sha256 = resumed.state.base_checkpoint, resumed.state.base_sha256
        init_from = str(ckpt.base_of(resumed)) if train.lora else None  # checks the base's hash
    if init_from is not None:
        model, notes, base = load_model_from_checkpoint(model, init_from, set() if train.lora else trainable_names, graph.tokenizer)
        base_sha256 = base_sha256 or ckpt.content_hash(base)

    if train.lora is not None:
        if train.lora.pathway not in model.pathways:
            raise ConfigError([Problem("train.lora.pathway", f"{train.lora.pathway!r} is not a pathway (pathways: {', '.join(model.pathways)})")])
        lora = adapter_registry().get("lora").cls
        name = train.lora.pathway
        adapted = lora.apply(model.pathways[name], rank=train.lora.rank, alpha=train.lora.alpha, key=jax.random.fold_in(key, 7))
        model = eqx.tree_at(lambda m: m.pathways[name], model, adapted)
        fspec = jax.tree.map(lambda _: False, model)
        fspec = eqx.tree_at(lambda s: s.pathways[name], fspec, lora.trainable(adapted))
    else:
        fspec = trainable_spec(model, train.trainable)

    mesh = None
    if spec.mesh is not None:
        from pathways.parallel import make_mesh, place, shardings

        mesh = make_mesh(spec.mesh.axes)
        model = place(model, shardings(model, mesh, [(r.match, r.spec) for r in spec.mesh.rules]))
    optimizer = make_optimizer(train)
    trainable, frozen = eqx.partition(model, fspec)
    # Under jit the moments take the shardings of the parameters they track.
    opt_state = optimizer.init(eqx.filter(trainable, eqx.is_inexact_array))
    if mesh is not None:  # moments sharded like their parameters, step counts replicated
        opt_state = place(opt_state, shardings(opt_state, mesh, [(r.match, r.spec) for r in spec.mesh.rules]))
    start = 0
    if resumed is not None:
        c = resumed
        check_tokenizer(c, graph.tokenizer)
        saved = set(c.state.trainable)
        now = {n for n, (t, _) in parameter_counts(model, fspec).items() if t}
        if saved != now:
            raise ckpt.CheckpointError(
                [Problem("--resume", f"the run trained {sorted(saved)} but this command trains {sorted(now)}: resume with the same --pathway selection", str(c.path))]
            )
        changed = config_changes(c.config, run_config(loaded, graph.tokenizer, in_checkpoint=True))
        if changed and not allow_config_change:
            hint = Problem("--allow-config-change", "pass it to resume with the new values anyway (the run will no longer equal an uninterrupted one)")
            raise ckpt.CheckpointError([dataclasses.replace(p, file=str(c.path)) for p in changed] + [hint])
        notes += [f"resuming with a changed config: {p.message}" for p in changed]
        if train.lora is None:
            model, _ = ckpt.load_into(model, c.params, set())
            if mesh is not None:
                model = place(model, shardings(model, mesh, [(r.match, r.spec) for r in spec.mesh.rules]))
            trainable, frozen = eqx.partition(model, fspec)
        else:
            adapters = ckpt.unflatten(trainable.pathways, c.params, source=str(c.path / "model.safetensors"))
            trainable = eqx.tree_at(lambda t: t.pathways, trainable, adapters)
        if jax.tree.leaves(eqx.filter(opt_state, eqx.is_array)):  # without it a resumed run would not continue exactly
            restored = ckpt.unflatten(opt_state, c.optimizer_state(), source=str(c.path / "optimizer.safetensors"))
            if mesh is not None:  # back onto the devices, sharded like before
                from pathways.parallel import place

                restored = place(restored, jax.tree.map(lambda x: x.sharding, eqx.filter(opt_state, eqx.is_array)))
            opt_state = restored
        start = c.state.step
        model = eqx.combine(trainable, frozen)

    compute = jnp.bfloat16 if train.compute_dtype == "bfloat16" else jnp.float32
    loss_fn = make_loss_fn(train.losses, compute)
    step_fn = make_train_step(loss_fn, optimizer, grad_accum=train.grad_accum)
    eval_fn = eqx.filter_jit(lambda trainable, frozen, batch: loss_fn(trainable, frozen, batch)[0])
    run = Run(loaded, graph, model, fspec, batcher, eval_batcher, optimizer, step_fn, eval_fn, learning_rate(train), notes, base, mesh, base_sha256)
    return run, trainable, opt_state, start
