"""Offline script and language identification: Unicode blocks, then stop-word profiles for Latin.

The script is the one holding most letters, counted by code-point range (the
Unicode blocks of each script). Most scripts imply a language (Greek: el,
Hangul: ko); Latin text is told apart by which language's most frequent
function words it uses (en, fr, de, es, it, pt, nl). Scripts shared by many
languages map to their most widely used one (Cyrillic: ru, Arabic: ar,
Devanagari: hi); a real language-id model (fastText lid.176, GlotLID) is the
step up when that matters.
"""

from __future__ import annotations

import re

import numpy as np

# (first, last, script), by Unicode block.
_BLOCKS: tuple[tuple[int, int, str], ...] = (
    (0x0041, 0x005A, "Latin"), (0x0061, 0x007A, "Latin"), (0x00C0, 0x024F, "Latin"), (0x1E00, 0x1EFF, "Latin"),
    (0x2C60, 0x2C7F, "Latin"), (0xA720, 0xA7FF, "Latin"), (0xFF21, 0xFF3A, "Latin"), (0xFF41, 0xFF5A, "Latin"),
    (0x0370, 0x03FF, "Greek"), (0x1F00, 0x1FFF, "Greek"),
    (0x0400, 0x052F, "Cyrillic"), (0x1C80, 0x1C8F, "Cyrillic"), (0x2DE0, 0x2DFF, "Cyrillic"), (0xA640, 0xA69F, "Cyrillic"),
    (0x0530, 0x058F, "Armenian"),
    (0x0590, 0x05FF, "Hebrew"), (0xFB1D, 0xFB4F, "Hebrew"),
    (0x0600, 0x06FF, "Arabic"), (0x0750, 0x077F, "Arabic"), (0x08A0, 0x08FF, "Arabic"), (0xFB50, 0xFDFF, "Arabic"),
    (0xFE70, 0xFEFF, "Arabic"),
    (0x0900, 0x097F, "Devanagari"), (0xA8E0, 0xA8FF, "Devanagari"),
    (0x0980, 0x09FF, "Bengali"), (0x0A00, 0x0A7F, "Gurmukhi"), (0x0A80, 0x0AFF, "Gujarati"), (0x0B80, 0x0BFF, "Tamil"),
    (0x0C00, 0x0C7F, "Telugu"), (0x0C80, 0x0CFF, "Kannada"), (0x0D00, 0x0D7F, "Malayalam"),
    (0x0E00, 0x0E7F, "Thai"), (0x0E80, 0x0EFF, "Lao"), (0x10A0, 0x10FF, "Georgian"), (0x1200, 0x137F, "Ethiopic"),
    (0x1100, 0x11FF, "Hangul"), (0x3130, 0x318F, "Hangul"), (0xA960, 0xA97F, "Hangul"), (0xAC00, 0xD7AF, "Hangul"),
    (0xD7B0, 0xD7FF, "Hangul"),
    (0x3040, 0x309F, "Kana"), (0x30A0, 0x30FF, "Kana"), (0x31F0, 0x31FF, "Kana"), (0xFF66, 0xFF9F, "Kana"),
    (0x2E80, 0x2FDF, "Han"), (0x3005, 0x3005, "Han"), (0x3007, 0x3007, "Han"), (0x3400, 0x4DBF, "Han"),
    (0x4E00, 0x9FFF, "Han"), (0xF900, 0xFAFF, "Han"), (0x20000, 0x2FA1F, "Han"),
)  # fmt: skip
_BLOCKS = tuple(sorted(_BLOCKS))
_STARTS = np.array([b[0] for b in _BLOCKS], dtype=np.uint32)
_ENDS = np.array([b[1] for b in _BLOCKS], dtype=np.uint32)
_NAMES = tuple(sorted({b[2] for b in _BLOCKS}))
_IDS = np.array([_NAMES.index(b[2]) for b in _BLOCKS], dtype=np.int64)

# The language a script implies (ISO 639-1). Latin is guessed from stop words instead.
SCRIPT_LANGUAGE: dict[str, str] = {
    "Greek": "el", "Cyrillic": "ru", "Armenian": "hy", "Hebrew": "he", "Arabic": "ar", "Devanagari": "hi",
    "Bengali": "bn", "Gurmukhi": "pa", "Gujarati": "gu", "Tamil": "ta", "Telugu": "te", "Kannada": "kn",
    "Malayalam": "ml", "Thai": "th", "Lao": "lo", "Georgian": "ka", "Ethiopic": "am", "Hangul": "ko",
    "Han": "zh", "Japanese": "ja",
}  # fmt: skip

# The most frequent function words of each Latin-script language the guesser knows.
STOP_WORDS: dict[str, frozenset[str]] = {
    lang: frozenset(words.split())
    for lang, words in {
        "en": "the and of to in is that it was for on are with as his they be at this have from or had by not but "
        "what were we when your can said there which she he you an their will would all been has who one should",
        "fr": "le la les de des du et est un une en que qui dans pour pas sur au aux il ils elle sont avec ce cette "
        "ne se son sa ses par plus nous vous leur été être ont mais ou où à tout tous",
        "de": "der die das und ist nicht ein eine einen zu den dem mit sich des auf für im von sie es auch als an er "
        "so dass wird bei aus nach oder hat sind haben wie werden jeder alle",
        "es": "el la los las de del y en que es un una por con para no se su sus al lo como más pero este esta está "
        "son ha fue ser muy todos también entre todo",
        "it": "il lo la gli le di del della dei e è che un una in per non con si sono da al alla come più ma questo "
        "questa anche nel nella ha essere tutti ogni",
        "pt": "o a os as de do da dos das e é que um uma em no na nos para com não se por mais ao seu sua como mas "
        "ou foi são ser está todos também pelo pela",
        "nl": "de het een en van is dat die in te niet zijn op voor met als aan er maar om ook bij zij hij ze wordt "
        "naar door heeft worden was dit uit of geen elke ieder",
    }.items()
}
# A word shared by k languages is worth 1/k to each of them.
_WEIGHTS: dict[str, dict[str, float]] = {}
for _lang, _words in STOP_WORDS.items():
    for _w in _words:
        _WEIGHTS.setdefault(_w, {})[_lang] = 0.0
for _w, _langs in _WEIGHTS.items():
    for _lang in _langs:
        _langs[_lang] = 1.0 / len(_langs)

_WORD = re.compile(r"[^\W\d_]+(?:'[^\W\d_]+)?")


def script_counts(text: str) -> dict[str, int]:
    """Letters per script; kana makes Han text `Japanese` (Han + Hiragana + Katakana, ISO 15924 Jpan)."""
    cps = np.frombuffer(text.encode("utf-32-le", errors="surrogatepass"), dtype="<u4")  # [chars]
    idx = np.searchsorted(_STARTS, cps, side="right") - 1
    inside = (idx >= 0) & (cps <= _ENDS[np.maximum(idx, 0)])
    counts = np.bincount(_IDS[idx[inside]], minlength=len(_NAMES))
    out = {name: int(n) for name, n in zip(_NAMES, counts) if n}
    kana, han = out.pop("Kana", 0), out.get("Han", 0)
    if kana and kana >= 0.1 * (han + kana):
        out.pop("Han", None)
        out["Japanese"] = han + kana
    elif kana:
        out["Han"] = han + kana
    return out


def detect_script(text: str) -> tuple[str, float]:
    """The script holding most letters and its share of them; `("unknown", 0.0)` without letters."""
    counts = script_counts(text)
    if not counts:
        return "unknown", 0.0
    script = max(counts, key=counts.__getitem__)
    return script, counts[script] / sum(counts.values())


def guess_latin_language(text: str, min_share: float = 0.05) -> tuple[str, float]:
    """Which of en/fr/de/es/it/pt/nl uses these words, by weighted stop-word hits.

    Returns the language and the share of words that are its stop words, or
    `("und", share)` when under `min_share` of the words are stop words of any.
    """
    tokens = _WORD.findall(text.lower())
    if not tokens:
        return "und", 0.0
    scores = dict.fromkeys(STOP_WORDS, 0.0)
    for token in tokens:
        for lang, weight in _WEIGHTS.get(token, {}).items():
            scores[lang] += weight
    best = max(scores, key=scores.__getitem__)
    share = scores[best] / len(tokens)
    return (best if share >= min_share else "und"), share


def identify(text: str) -> tuple[str, str]:
    """`(script, language)` of a text; language `und` (undetermined) when it cannot tell."""
    script, _ = detect_script(text)
    if script == "Latin":
        return script, guess_latin_language(text)[0]
    return script, SCRIPT_LANGUAGE.get(script, "und")
