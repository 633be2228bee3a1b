"""Tasks on held-out English prose (Botchan, `english_prose` test split): perplexity and lead-sentence summaries."""

from __future__ import annotations

import itertools

from pathways._markers import hookimpl
from pathways.data.prose import EnglishProse, sentences
from pathways.evaluate._metrics import rouge1, rouge2, rougeL
from pathways.evaluate._task import Task


class LMPerplexity(Task):
    """Perplexity on held-out English prose (english_prose test split, windows of up to 256 characters)."""

    type_name = "lm_perplexity"
    kind = "perplexity"

    def examples(self, limit):
        data = EnglishProse(EnglishProse.Config(split="test"))
        return ({"text": t} for t in itertools.islice(data.texts, limit))


class Summarization(Task):
    """Lead-sentence summaries: "<passage> TL;DR:" -> the passage's first sentence (ROUGE-1/2/L).

    Passages are the held-out english_prose windows of up to 200 characters that
    hold two sentences or more (96). The reference is the passage's first
    sentence, the "lead" that news summarisation uses as its baseline: a model
    that copies it scores 1.0. Nothing shipped trains for this; it measures
    extraction, not abstractive summarisation.
    """

    type_name = "summarization"
    kind = "generation"
    metrics = {"rouge1": rouge1, "rouge2": rouge2, "rougeL": rougeL}
    max_new_tokens = 64

    def examples(self, limit):
        data = EnglishProse(EnglishProse.Config(split="test", max_chars=200))
        passages = ((t, sentences(t)) for t in data.texts)
        return itertools.islice(({"prompt": f"{t} TL;DR:", "target": s[0]} for t, s in passages if len(s) >= 2), limit)


@hookimpl
def pathways_register_tasks():
    return [LMPerplexity, Summarization]
