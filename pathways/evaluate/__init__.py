"""Evaluation: registered tasks scored by shared runners (multiple choice, generation, classification, perplexity)."""

from pathways.evaluate._loglik import continuation, token_logprobs
from pathways.evaluate._metrics import METRICS, bleu, chrf, exact_match, normalize_answer, rouge1, rouge2, rougeL, token_f1
from pathways.evaluate._model import EvalModel
from pathways.evaluate._result import Result, Score
from pathways.evaluate._run import get_task, run_tasks
from pathways.evaluate._task import EXAMPLE_FIELDS, TASK_KINDS, Task, check_task

__all__ = [
    "EXAMPLE_FIELDS",
    "EvalModel",
    "METRICS",
    "Result",
    "Score",
    "TASK_KINDS",
    "Task",
    "bleu",
    "check_task",
    "chrf",
    "continuation",
    "exact_match",
    "get_task",
    "normalize_answer",
    "rouge1",
    "rouge2",
    "rougeL",
    "run_tasks",
    "token_f1",
    "token_logprobs",
]
