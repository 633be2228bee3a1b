"""Translation of CLDR names, English -> French (cldr_translation test split), as examples/translation.yaml trains it."""

from __future__ import annotations

import itertools

from pathways._markers import hookimpl
from pathways.data.cldr import CLDRTranslation
from pathways.evaluate._metrics import bleu, chrf, exact_match
from pathways.evaluate._task import Task


class TranslationEnFr(Task):
    """English -> French names: "Germany =>" -> "Allemagne" (BLEU, chrF, exact match).

    The 208 held-out territory, language, month and day names. Most are one to
    three words, so few have 4-grams and corpus BLEU is harsh; chrF (character
    n-grams) and exact match say more.
    """

    type_name = "translation_en_fr"
    kind = "generation"
    metrics = {"bleu": bleu, "chrf": chrf, "exact_match": exact_match}
    max_new_tokens = 40

    def examples(self, limit):
        data = CLDRTranslation(CLDRTranslation.Config(split="test", source="en", target="fr"))
        rows = (data[i] for i in range(len(data)))
        return ({"prompt": f"{r['source']} =>", "target": r["target"]} for r in itertools.islice(rows, limit))


@hookimpl
def pathways_register_tasks():
    return [TranslationEnFr]
