"""Generation from a model or a checkpoint: prompts in, text out."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any, Mapping

import jax
import jax.numpy as jnp
import numpy as np

from pathways._errors import PathwaysError, Problem, with_article
from pathways.data import stop_ids
from pathways.generate._decode import generate_cached, generate_uncached
from pathways.generate._route import decode_route, media_inputs
from pathways.generate._sampling import Sampling
from pathways.graph import Graph, ResolvedGraph


class GenerateError(PathwaysError):
    """A request that cannot be generated (prompt too long, bad values, missing inputs)."""


@dataclasses.dataclass
class Generation:
    text: str
    tokens: list[int]


class Generator:
    """Decode text from a composed model: any graph whose LM head reads a decoder with the cached_decoder role."""

    def __init__(self, model: Graph, graph: ResolvedGraph, tokenizer):
        if tokenizer is None:
            raise GenerateError([Problem("tokenizer", "this model has no tokenizer: its config names none, so prompts cannot be encoded")])
        self.model, self.graph, self.tokenizer = model, graph, tokenizer
        self.route = decode_route(graph)
        self.context = graph.batch[self.route.tokens].shape[1]  # the text length the model was built for
        self.media = media_inputs(graph)

    @classmethod
    def from_checkpoint(cls, path: str | Path, *, check_memory: bool = True) -> "Generator":
        """Load a checkpoint directory (or a run's newest checkpoint); LoRA checkpoints bring their base.

        With `check_memory`, a model the devices cannot hold is refused before it is allocated.
        """
        from pathways.train import load_trained

        model, c = load_trained(path, check_memory=check_memory, mode="generate")
        if model.graph.tokenizer is None:
            raise GenerateError([Problem("", "checkpoint has no tokenizer (its config names none): cannot encode prompts", str(c.path))])
        return cls(model, model.graph, model.graph.tokenizer)

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
                        f"(dims of batch.{self.route.tokens}): shorten the prompt or lower --max-new-tokens",
                    )
                )
        if problems:
            raise GenerateError(problems)
        lengths = np.array([len(s) for s in ids], np.int32)
        tokens = np.stack([self.tokenizer.pad(s, int(lengths.max())) for s in ids])
        return tokens, lengths

    def batch(self, tokens: np.ndarray, media: Mapping[str, Any] | None = None) -> dict[str, jax.Array]:
        """The batch for `tokens` plus each media input: modality -> arrays or file paths (one per prompt, or one for all).

        Files are read by the encoder that takes them (`Component.read_media`); a
        mask the file does not give (a whole clip) is all True.
        """
        B = tokens.shape[0]
        batch: dict[str, Any] = {self.route.tokens: tokens}
        given = {k: v for k, v in (media or {}).items() if v is not None}
        problems = []
        for field, m in self.media.items():
            items = given.get(m.modality)
            if items is None:
                problems.append(Problem(f"batch.{field}", f"this model reads {with_article(m.modality)} (batch.{field}): give --input {m.modality}=FILE"))
                continue
            items = list(items) if isinstance(items, (list, tuple)) else [items] * B
            if len(items) != B:
                problems.append(Problem(f"--input {m.modality}", f"{len(items)} {m.modality} inputs for {B} prompts"))
                continue
            node = self.graph.nodes[m.pathway]
            mask_port = node.cls.media[m.port].mask
            rows = [node.cls.read_media(node.cfg, m.port, x) if isinstance(x, (str, Path)) else {m.port: np.asarray(x)} for x in items]
            spec = self.graph.batch[field]
            bad = next((r[m.port].shape for r in rows if r[m.port].shape != tuple(spec.shape[1:])), None)
            if bad is not None:
                problems.append(Problem(f"--input {m.modality}", f"{m.modality} of shape {list(bad)}; the model takes {list(spec.shape[1:])}"))
                continue
            batch[field] = np.stack([r[m.port] for r in rows]).astype(spec.dtype)
            if m.mask is not None:
                whole = np.ones(self.graph.batch[m.mask].shape[1:], bool)
                batch[m.mask] = np.stack([r.get(mask_port, whole) for r in rows])
        for modality in sorted(set(given) - {m.modality for m in self.media.values()}):
            problems.append(Problem(f"--input {modality}", f"this model has no {modality} input" + (f" (it reads: {', '.join(sorted({m.modality for m in self.media.values()}))})" if self.media else "")))
        read = self.graph.read
        for name, fill in (("segment_ids", (tokens != self.tokenizer.pad_id)), ("positions", np.broadcast_to(np.arange(tokens.shape[1]), tokens.shape))):
            if f"batch.{name}" in read and name not in batch:  # a model trained on packed rows: one segment per prompt
                batch[name] = np.asarray(fill, np.int32)
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
        media: Mapping[str, Any] | None = None,
        images=None,
        audio=None,
        max_new_tokens: int = 32,
        sampling: Sampling = Sampling(),
        seed: int = 0,
        use_cache: bool = True,
    ) -> list[Generation]:
        """Continue each prompt. `media`: modality -> array(s) or file path(s); `images`/`audio` are shorthands."""
        tokens, lengths = self.encode(prompts, max_new_tokens)
        batch = self.batch(tokens, {"image": images, "audio": audio, **(media or {})})
        t = self.tokenizer
        stops = tuple(stop_ids(t))  # eos, and a chat template's end-of-turn marker
        if use_cache:
            out = generate_cached(
                self.model, batch, jnp.asarray(lengths), jax.random.key(seed),
                route=self.route, max_new=max_new_tokens, sampling=sampling, eos_id=stops, pad_id=t.pad_id,
            )
        else:
            if sampling.temperature != 0.0:
                raise GenerateError("decoding without a cache is greedy only (temperature 0)")
            out = generate_uncached(self.model, batch, jnp.asarray(lengths), route=self.route, max_new=max_new_tokens, eos_id=stops, pad_id=t.pad_id)
        results = []
        for row in np.asarray(out):
            ids = [int(i) for i in row]
            end = next((n for n, i in enumerate(ids) if i in stops), None)
            ids = ids[:end] if end is not None else [i for i in ids if i != t.pad_id]
            results.append(Generation(t.decode(ids), ids))
        return results


