"""Generation from a model or a checkpoint: prompts in, text out."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any, Mapping

import jax
import jax.numpy as jnp
import numpy as np

from pathways._errors import ConfigError, PathwaysError, Problem
from pathways.generate._decode import generate_cached, generate_uncached
from pathways.generate._media import load_audio, load_image
from pathways.generate._plan import plan_decoding
from pathways.generate._sampling import Sampling
from pathways.graph import Graph, ResolvedGraph


class GenerateError(PathwaysError):
    """A request that cannot be generated (prompt too long, bad values, missing inputs)."""


@dataclasses.dataclass
class Generation:
    text: str
    tokens: list[int]


def media_fields(graph: ResolvedGraph) -> dict[str, tuple[str, Any]]:
    """Batch fields fed by an image or audio encoder: field -> (role, encoder config).

    Roles: `image` (vit_encoder images), `audio` (audio_encoder waveform), `audio_mask`.
    """
    roles = {("vit_encoder", "images"): "image", ("audio_encoder", "waveform"): "audio", ("audio_encoder", "waveform_mask"): "audio_mask"}
    out = {}
    for node in graph.nodes.values():
        for port, ref in node.wiring.items():
            role = roles.get((node.cls.type_name, port))
            if role and isinstance(ref, str) and ref.startswith("batch."):
                out[ref.removeprefix("batch.")] = (role, node.cfg)
    return out


class Generator:
    """Decode text from a composed model (any graph whose LM head reads a Gemma decoder)."""

    def __init__(self, model: Graph, graph: ResolvedGraph, tokenizer):
        if tokenizer is None:
            raise GenerateError([Problem("tokenizer", "this model has no tokenizer: its config names none, so prompts cannot be encoded")])
        self.model, self.graph, self.tokenizer = model, graph, tokenizer
        self.plan = plan_decoding(graph)
        self.context = graph.batch[self.plan.tokens].shape[1]  # the text length the model was built for
        self.media = media_fields(graph)

    @classmethod
    def from_checkpoint(cls, path: str | Path, *, check_memory: bool = True) -> "Generator":
        """Load a checkpoint directory (or a run's newest checkpoint); LoRA checkpoints bring their base.

        With `check_memory`, a model the devices cannot hold is refused before it is allocated.
        """
        from pathways.config import load_config
        from pathways.graph import build, resolve
        from pathways.plan import preflight
        from pathways.train import _checkpoint as ckpt
        from pathways.train._merge import load_lora_model

        c = ckpt.load(path)
        graph = resolve(load_config(c.path / "config.yaml"))
        if check_memory:
            preflight(graph, "generate")
        if c.state.get("lora"):
            model, _, _ = load_lora_model(c.path)
        else:
            model, _ = ckpt.load_into(build(graph, jax.random.key(0)), c.params, set())
        if graph.tokenizer is None:
            raise GenerateError([Problem("", "checkpoint has no tokenizer (its config names none): cannot encode prompts", str(c.path))])
        return cls(model, graph, graph.tokenizer)

    def encode(self, prompts: list[str], max_new_tokens: int) -> tuple[np.ndarray, np.ndarray]:
        if not prompts:
            raise GenerateError("give at least one prompt")
        if max_new_tokens < 1:
            raise GenerateError([Problem("--max-new-tokens", f"must be at least 1, got {max_new_tokens}")])
        ids = [self.tokenizer.encode(p, eos=False) for p in prompts]
        problems = []
        for i, seq in enumerate(ids):
            if len(seq) + max_new_tokens > self.context:
                problems.append(
                    Problem(
                        f"prompt {i}",
                        f"{len(seq)} tokens + {max_new_tokens} new tokens exceed the model's context of {self.context} "
                        f"(dims of batch.{self.plan.tokens}): shorten the prompt or lower --max-new-tokens",
                    )
                )
        if problems:
            raise GenerateError(problems)
        lengths = np.array([len(s) for s in ids], np.int32)
        tokens = np.stack([self.tokenizer.pad(s, int(lengths.max())) for s in ids])
        return tokens, lengths

    def batch(self, tokens: np.ndarray, images=None, audio=None) -> dict[str, np.ndarray]:
        """The batch for `tokens` plus each media field, from arrays or file paths (one per prompt, or one for all)."""
        B = tokens.shape[0]
        batch: dict[str, Any] = {self.plan.tokens: tokens}
        given = {"image": images, "audio": audio}
        problems = []
        for field, (role, cfg) in self.media.items():
            if role == "audio_mask":
                continue
            items = given.get(role)
            if items is None:
                problems.append(Problem(f"batch.{field}", f"this model reads an {role} (batch.{field}): give --{role}"))
                continue
            items = items if isinstance(items, (list, tuple)) else [items] * B
            if len(items) != B:
                problems.append(Problem(f"--{role}", f"{len(items)} {role} inputs for {B} prompts"))
                continue
            if role == "image":
                h, w = cfg.image_size
                batch[field] = np.stack([load_image(x, h, w, cfg.channels) if isinstance(x, (str, Path)) else np.asarray(x, np.float32) for x in items])
            else:
                loaded = [load_audio(x, cfg.sample_rate, cfg.num_samples) if isinstance(x, (str, Path)) else (np.asarray(x, np.float32), np.ones(cfg.num_samples, bool)) for x in items]
                batch[field] = np.stack([a for a, _ in loaded])
                for mfield, (mrole, _) in self.media.items():
                    if mrole == "audio_mask":
                        batch[mfield] = np.stack([m for _, m in loaded])
        unused = [r for r, v in given.items() if v is not None and r not in {role for role, _ in self.media.values()}]
        for role in unused:
            problems.append(Problem(f"--{role}", f"this model has no {role} input"))
        read = {r for node in self.graph.nodes.values() for ref in node.wiring.values() for r in (ref if isinstance(ref, tuple) else (ref,))}
        missing = [f for f in self.graph.batch if f not in batch and f"batch.{f}" in read]  # not fields only losses read (labels)
        for f in missing:
            if not any(p.where == f"batch.{f}" for p in problems):
                problems.append(Problem(f"batch.{f}", f"the model needs batch.{f}, which generation cannot provide"))
        if problems:
            raise GenerateError(problems)
        return {k: jnp.asarray(v) for k, v in batch.items()}

    def generate(
        self,
        prompts: list[str],
        *,
        images=None,
        audio=None,
        max_new_tokens: int = 32,
        sampling: Sampling = Sampling(),
        seed: int = 0,
        use_cache: bool = True,
    ) -> list[Generation]:
        tokens, lengths = self.encode(prompts, max_new_tokens)
        batch = self.batch(tokens, images, audio)
        t = self.tokenizer
        if use_cache:
            out = generate_cached(
                self.model, batch, jnp.asarray(lengths), jax.random.key(seed),
                plan=self.plan, max_new=max_new_tokens, sampling=sampling, eos_id=t.eos_id, pad_id=t.pad_id,
            )
        else:
            if sampling.temperature != 0.0:
                raise GenerateError("decoding without a cache is greedy only (temperature 0)")
            out = generate_uncached(self.model, batch, jnp.asarray(lengths), plan=self.plan, max_new=max_new_tokens, eos_id=t.eos_id, pad_id=t.pad_id)
        results = []
        for row in np.asarray(out):
            ids = [int(i) for i in row]
            ids = ids[: ids.index(t.eos_id)] if t.eos_id in ids else [i for i in ids if i != t.pad_id]
            results.append(Generation(t.decode(ids), ids))
        return results

