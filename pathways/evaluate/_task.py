"""The task contract: what an evaluation task declares and the examples it yields.

A task only says *what* to ask and *what* is right; a shared runner per kind
(`multiple_choice`, `generation`, `classification`, `perplexity`) does the
batching and scoring, so every task of one kind is scored the same way.
"""

from __future__ import annotations

import abc
import inspect
from typing import Any, Callable, ClassVar, Iterator

TASK_KINDS = ("multiple_choice", "generation", "classification", "perplexity")

# Fields of an example dict, by kind. Every kind also takes one array per modality
# it `needs` (`image`, `audio`, a plugin's `video`...), under the modality's name,
# optionally with `<modality>_mask`; they feed the encoders that declare that modality.
EXAMPLE_FIELDS = {
    "multiple_choice": {"prompt": "context text", "choices": "candidate continuations (list of str)", "answer": "index of the right choice"},
    "generation": {"prompt": "text the model continues", "target": "reference answer (str, or list of str)"},
    "classification": {"label": "the right class index", "prompt": "text, where the classifier reads tokens (optional)"},
    "perplexity": {"text": "held-out text"},
}

Metric = Callable[[list[str], list[list[str]]], float]


class Task(abc.ABC):
    """An evaluation task, registered through `pathways_register_tasks`.

    Subclasses set `type_name` (the name `--tasks` uses), `kind` (one of `TASK_KINDS`),
    `needs` (modalities the examples feed: `{"image"}`, `{"audio"}`, a plugin's own) and
    implement `examples(limit)`, yielding dicts with the fields of `EXAMPLE_FIELDS[kind]`.

    A prompt and its answer are joined as the training text was: `prompt + separator
    + answer` (`separator` only when the prompt is not empty). Prompts never end in
    the separator, so a SentencePiece tokenizer sees the space with the word it
    belongs to.
    """

    type_name: ClassVar[str]
    kind: ClassVar[str]
    needs: ClassVar[frozenset[str]] = frozenset()
    # Further kinds scored too, where the model can: e.g. VQA is generation and also
    # multiple choice over the answer vocabulary. Examples then carry both kinds' fields.
    also: ClassVar[tuple[str, ...]] = ()
    separator: ClassVar[str] = " "
    # Generation: metric name -> `metric(predictions, references)`, and the token budget.
    metrics: ClassVar[dict[str, Metric]] = {}
    max_new_tokens: ClassVar[int] = 32
    # Classification: the head is the classifier whose logits have this many classes.
    num_classes: ClassVar[int | None] = None

    @abc.abstractmethod
    def examples(self, limit: int | None) -> Iterator[dict[str, Any]]:
        """Up to `limit` examples (all when None), always in the same order."""

    @classmethod
    def kinds(cls) -> tuple[str, ...]:
        return (cls.kind, *cls.also)

    @classmethod
    def describe(cls) -> str:
        doc = inspect.getdoc(cls) or ""
        return doc.splitlines()[0] if doc else ""


def check_task(cls: type[Task]) -> str | None:
    """Why `cls` breaks the task contract, or None (the registry skips broken tasks with a warning)."""
    kinds = [getattr(cls, "kind", None), *getattr(cls, "also", ())]
    bad = [k for k in kinds if k not in TASK_KINDS]
    if bad:
        return f"kind {bad[0]!r} is not one of {', '.join(TASK_KINDS)}"
    if inspect.isabstract(cls):
        return f"{cls.__qualname__} does not implement examples(limit)"
    if "generation" in kinds and not cls.metrics:
        return f"{cls.__qualname__} is a generation task without metrics"
    if "classification" in kinds and not isinstance(cls.num_classes, int):
        return f"{cls.__qualname__} is a classification task without num_classes"
    bad = [m for m in cls.needs if not (isinstance(m, str) and m.isidentifier())]
    if bad:
        return f"needs {bad!r}: modalities are names such as 'image' or 'audio'"
    return None
