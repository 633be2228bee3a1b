"""Script and language identification on real sentences in each script, and the language_id filter."""

from __future__ import annotations

import pytest

from pathways.curate import detect_script, guess_latin_language, identify, make_filter
from pathways.data._sentencepiece import SAMPLES

EXPECTED = {
    "latin-en": ("Latin", "en"),
    "latin-fr": ("Latin", "fr"),
    "latin-de": ("Latin", "de"),
    "cyrillic-ru": ("Cyrillic", "ru"),
    "greek-el": ("Greek", "el"),
    "arabic-ar": ("Arabic", "ar"),
    "hebrew-he": ("Hebrew", "he"),
    "devanagari-hi": ("Devanagari", "hi"),
    "thai-th": ("Thai", "th"),
    "cjk-zh": ("Han", "zh"),
    "cjk-ja": ("Japanese", "ja"),  # Han with kana
    "hangul-ko": ("Hangul", "ko"),
}

# Everyday sentences (not the UDHR above), two per language.
LATIN = {
    "en": [
        "The children walked to the market with their mother and bought some bread.",
        "I think that it was the best film of the year, but my brother did not like it.",
    ],
    "fr": [
        "Les enfants sont allés au marché avec leur mère et ont acheté du pain.",
        "Je pense que c'était le meilleur film de l'année, mais mon frère ne l'a pas aimé.",
    ],
    "de": [
        "Die Kinder gingen mit ihrer Mutter auf den Markt und kauften Brot.",
        "Ich denke, dass es der beste Film des Jahres war, aber mein Bruder mochte ihn nicht.",
    ],
    "es": ["Los niños fueron al mercado con su madre y compraron pan.", "Creo que fue la mejor película del año, pero a mi hermano no le gustó."],
    "it": [
        "I bambini sono andati al mercato con la loro madre e hanno comprato il pane.",
        "Penso che sia stato il film più bello dell'anno, ma a mio fratello non è piaciuto.",
    ],
    "pt": ["As crianças foram ao mercado com a mãe e compraram pão.", "Acho que foi o melhor filme do ano, mas o meu irmão não gostou."],
    "nl": [
        "De kinderen gingen met hun moeder naar de markt en kochten brood.",
        "Ik denk dat het de beste film van het jaar was, maar mijn broer vond hem niet leuk.",
    ],
}


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_every_script_of_the_samples(name):
    assert identify(SAMPLES[name]) == EXPECTED[name]
    script, share = detect_script(SAMPLES[name])
    assert share > 0.95


@pytest.mark.parametrize("language", sorted(LATIN))
def test_latin_languages_by_stop_words(language):
    for sentence in LATIN[language]:
        assert identify(sentence) == ("Latin", language), sentence


def test_undetermined_and_mixed_text():
    assert identify("12345 !!! ...") == ("unknown", "und")
    assert identify("Xkcd qwerty zxcvb plugh") == ("Latin", "und")  # no stop words of any language
    assert guess_latin_language("Xkcd qwerty zxcvb plugh")[1] == 0.0
    # The script holding most letters wins: a Russian sentence quoting one English word.
    assert identify(SAMPLES["cyrillic-ru"] + " (freedom)") == ("Cyrillic", "ru")
    # A little kana does not make Chinese Japanese; a lot of it does.
    assert identify(SAMPLES["cjk-zh"] + "の")[0] == "Han"
    assert detect_script("ひらがなとカタカナ")[0] == "Japanese"


def test_language_id_filter_records_fields_and_keeps_chosen_languages():
    lid = make_filter("language_id")
    doc = {"text": SAMPLES["greek-el"], "id": 7}
    assert lid.keep(doc) is None
    assert doc == {"text": SAMPLES["greek-el"], "id": 7, "script": "Greek", "language": "el"}
    only = make_filter("language_id", {"keep_languages": ["en", "de"]})
    assert only.keep({"text": SAMPLES["latin-de"]}) is None
    assert only.keep({"text": SAMPLES["latin-fr"]}) == "language: fr"
    scripts = make_filter("language_id", {"keep_scripts": ["Latin", "Cyrillic"]})
    assert scripts.keep({"text": SAMPLES["cyrillic-ru"]}) is None
    assert scripts.keep({"text": SAMPLES["hangul-ko"]}) == "script: Hangul"
