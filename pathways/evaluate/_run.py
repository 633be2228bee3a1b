"""Running tasks on a model: look them up, check the model can take them, score each kind."""

from __future__ import annotations

import itertools
from typing import Callable

from pathways._errors import ConfigError, PathwaysError, Problem
from pathways.evaluate._classification import classification, find_head
from pathways.evaluate._generation import generation
from pathways.evaluate._loglik import multiple_choice, perplexity
from pathways.evaluate._model import EvalModel
from pathways.evaluate._result import Result, Score
from pathways.evaluate._task import Task

RUNNERS: dict[str, Callable[..., list[Score]]] = {
    "multiple_choice": multiple_choice,
    "generation": generation,
    "classification": classification,
    "perplexity": perplexity,
}


def get_task(name: str) -> Task:
    """A new instance of the registered task `name` (a `ConfigError` listing the registered ones if unknown)."""
    from pathways.plugins import task_registry

    registry = task_registry()
    if name not in registry:
        raise ConfigError([Problem("--tasks", registry.unknown(name))])
    return registry.get(name).cls()


def unsupported(em: EvalModel, task: Task, kind: str) -> str | None:
    """Why `em` cannot be scored on `task` as `kind`, or None."""
    if kind == "classification":
        if find_head(em, task.num_classes) is None:
            return f"the model has no classifier head with {task.num_classes} classes (logits [B, {task.num_classes}])"
        return None
    if em.tokenizer is None:
        return "the model has no tokenizer (its config names none)"
    try:
        em.route
    except PathwaysError as exc:
        return exc.problems[0].message
    return None


def check(em: EvalModel, tasks: list[Task]) -> dict[str, list[str]]:
    """The kinds each task will be scored as; a `ConfigError` naming every task the model cannot take, and why."""
    problems, kinds = [], {}
    have = em.inputs
    for task in tasks:
        where = f"task {task.type_name}"
        missing = sorted(set(task.needs) - have)
        for role in missing:
            reads = ", ".join(sorted(have)) or "text only"
            problems.append(Problem(where, f"needs an {role} input, and this model has none (it reads: {reads})"))
        if missing:
            continue
        why = {k: unsupported(em, task, k) for k in task.kinds()}
        kinds[task.type_name] = [k for k, reason in why.items() if reason is None]
        if not kinds[task.type_name]:
            problems.append(Problem(where, f"cannot be scored as {task.kind}: {why[task.kind]}"))
        heads = {find_head(em, task.num_classes) if k == "classification" else em.route.head for k in kinds[task.type_name]}
        for problem in [p for head in sorted(heads) for p in em.unfed(head, set(task.needs), task.type_name)]:
            if problem not in problems:
                problems.append(problem)
    if problems:
        raise ConfigError(problems)
    return kinds


def run_tasks(em: EvalModel, tasks: list[str | Task], *, limit: int | None = None, batch_size: int = 16) -> list[Result]:
    """Score `em` on each task (names or instances), checking every task first; one `Result` per metric.

    A task is scored as each of its kinds (`kind`, then `also`) that the model supports.
    """
    if batch_size < 1:
        raise ConfigError([Problem("--batch-size", f"must be at least 1, got {batch_size}")])
    if limit is not None and limit < 1:
        raise ConfigError([Problem("--limit", f"must be at least 1, got {limit}")])
    instances = [get_task(t) if isinstance(t, str) else t for t in tasks]
    kinds = check(em, instances)
    results = []
    for task in instances:
        examples = list(itertools.islice(task.examples(limit), limit))
        for kind in kinds[task.type_name]:
            for score in RUNNERS[kind](em, task, examples, batch_size):
                results.append(Result(task.type_name, score, em.identity))
    return results
