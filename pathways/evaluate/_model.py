"""The model under evaluation: weights, graph, tokenizer, where it came from, and its batches."""

from __future__ import annotations

import dataclasses
import functools
from pathlib import Path
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from pathways._errors import ConfigError, Problem, with_article
from pathways.generate import DecodeRoute, MediaInput, decode_route, media_inputs
from pathways.graph import Graph, ResolvedGraph


def _refs(ref) -> tuple[str, ...]:
    return ref if isinstance(ref, tuple) else (ref,)


@dataclasses.dataclass
class EvalModel:
    """A composed model to evaluate. `identity` says which: checkpoint path, config sha256, step."""

    model: Graph
    graph: ResolvedGraph
    tokenizer: Any
    identity: dict[str, Any] = dataclasses.field(default_factory=dict)

    @classmethod
    def from_checkpoint(cls, path: str | Path) -> "EvalModel":
        """Load a checkpoint directory (or a run's newest checkpoint); LoRA checkpoints bring their base."""
        from pathways.train import load_trained

        model, c = load_trained(path)
        identity = {"checkpoint": str(c.path.resolve()), "config_sha256": c.state.config_sha256, "step": c.state.step}
        return cls(model, model.graph, model.graph.tokenizer, identity)

    @functools.cached_property
    def route(self) -> DecodeRoute:
        """The token path to the LM head (a `ConfigError` saying why when there is none)."""
        return decode_route(self.graph)

    @property
    def context(self) -> int:
        """Text length the model was built for (the token field's last dimension)."""
        return self.graph.batch[self.route.tokens].shape[1]

    @functools.cached_property
    def media(self) -> dict[str, MediaInput]:
        """Batch field -> the modality it carries (declared by the encoders, `Component.media`)."""
        return media_inputs(self.graph)

    @property
    def inputs(self) -> set[str]:
        """Modalities the model reads (`image`, `audio`, a plugin's own)."""
        return {m.modality for m in self.media.values()}

    def _modality(self, field: str) -> tuple[str, bool] | None:
        """(modality, is its mask) for a media field or a media mask field; None for others."""
        if field in self.media:
            return self.media[field].modality, False
        owner = next((m for m in self.media.values() if m.mask == field), None)
        return (owner.modality, True) if owner else None

    def upstream(self, pathway: str) -> set[str]:
        """`pathway` and every pathway it reads from, directly or not."""
        seen, todo = set(), [pathway]
        while todo:
            name = todo.pop()
            if name in seen:
                continue
            seen.add(name)
            for ref in self.graph.nodes[name].wiring.values():
                todo += [r.split(".", 1)[0] for r in _refs(ref) if not r.startswith("batch.")]
        return seen

    def skip_for(self, pathway: str) -> frozenset[str]:
        """Pathways `pathway` does not depend on: evaluation leaves them out."""
        return frozenset(self.graph.nodes) - self.upstream(pathway)

    def fields_for(self, pathway: str) -> set[str]:
        """Batch fields `pathway` depends on."""
        return {
            r.removeprefix("batch.")
            for name in self.upstream(pathway)
            for ref in self.graph.nodes[name].wiring.values()
            for r in _refs(ref)
            if r.startswith("batch.")
        }

    def token_fields(self, pathway: str) -> set[str]:
        """Integer `[B, T]` batch fields `pathway` depends on: token ids."""
        return {f for f in self.fields_for(pathway) if np.issubdtype(self.graph.batch[f].dtype, np.integer) and len(self.graph.batch[f].shape) == 2}

    def unfed(self, pathway: str, roles: set[str], task: str) -> list[Problem]:
        """Inputs `pathway` depends on that a task giving text and the media `roles` cannot feed."""
        problems = []
        for field in sorted(self.fields_for(pathway) - self.token_fields(pathway)):
            found = self._modality(field)
            if found is None:
                problems.append(Problem(f"batch.{field}", f"the model reads batch.{field}, which task {task!r} does not provide"))
            elif not found[1] and found[0] not in roles:
                problems.append(Problem(f"batch.{field}", f"the model reads {with_article(found[0])} (batch.{field}), which task {task!r} does not provide"))
        return problems

    def batch(self, pathway: str, examples: list[dict[str, Any]], tokens: dict[str, np.ndarray], task: str) -> dict[str, jax.Array]:
        """The batch `pathway` needs: `tokens` (field -> ids) plus the examples' media (`ex[modality]`)."""
        out, problems = {}, []
        for field in sorted(self.fields_for(pathway)):
            spec = self.graph.batch[field]
            if field in tokens:
                out[field] = tokens[field]
                continue
            found = self._modality(field)
            if found is None:
                problems.append(Problem(f"batch.{field}", f"the model reads batch.{field}, which task {task!r} does not provide"))
                continue
            role = f"{found[0]}_mask" if found[1] else found[0]
            if found[1] and any(role not in ex for ex in examples):
                values = [np.ones(spec.shape[1:], bool) for _ in examples]  # whole inputs
            elif any(role not in ex for ex in examples):
                problems.append(Problem(f"batch.{field}", f"the model reads {with_article(role)} (batch.{field}), which task {task!r} does not provide"))
                continue
            else:
                values = [np.asarray(ex[role]) for ex in examples]
            shape = tuple(values[0].shape)
            if shape != tuple(spec.shape[1:]):
                problems.append(Problem(f"batch.{field}", f"task {task!r} gives {role} of shape {list(shape)}, the model takes {list(spec.shape[1:])}"))
                continue
            out[field] = np.stack(values).astype(spec.dtype)
        if problems:
            raise ConfigError(problems)
        return {k: jnp.asarray(v) for k, v in out.items()}
