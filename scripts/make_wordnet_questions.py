"""Generate pathways/data/files/wordnet_questions.jsonl: commonsense multiple-choice questions from WordNet 3.0.

    apt-get install -y wordnet-base && .venv/bin/python scripts/make_wordnet_questions.py

Reads the WordNet database files (Debian's wordnet-base, /usr/share/wordnet)
directly and writes one question per line for five relations:

    hypernym    "a river is a kind of ___"             stream
    part        "a jaw is part of the ___"             skull
    antonym     "the opposite of bold is ___"          timid
    entailment  "to shop, you must ___"                buy
    cause       "to kill is to cause to ___"           die

Only familiar words are used: a word's most frequent sense, tagged at least
`--min-count` times in WordNet's sense-tagged corpus (cntlist.rev). Distractors
are familiar words of the same part of speech (nouns and verbs from other lexicographer files,
animals vs artifacts vs foods ...), and never a word that the relation links
to any sense of the cue, so exactly one choice is right. Output is deterministic.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import random
import re
from collections import defaultdict
from pathlib import Path

OUT = Path(__file__).resolve().parents[1] / "pathways/data/files/wordnet_questions.jsonl"
SS_TYPE = {"n": 1, "v": 2, "a": 3, "s": 5}  # part of speech -> number used in sense keys


@dataclasses.dataclass
class Synset:
    offset: str
    pos: str  # n, v, a (s satellites folded into a)
    lexfile: int
    ss_type: int  # 1 noun, 2 verb, 3 adjective, 5 adjective satellite (as in sense keys)
    words: list[str]
    lex_ids: list[int]
    pointers: list[tuple[str, str, str, int, int]]  # (symbol, target offset, target pos, source word, target word)


def load(root: Path) -> dict[tuple[str, str], Synset]:
    synsets = {}
    for name in ("noun", "verb", "adj"):
        for line in (root / f"data.{name}").read_text(encoding="latin-1").splitlines():
            if line.startswith("  "):  # licence header
                continue
            parts = line.split(" | ")[0].split()
            offset, lexfile, pos, n = parts[0], int(parts[1]), parts[2], int(parts[3], 16)
            words = [re.sub(r"\(.*\)$", "", w) for w in parts[4 : 4 + 2 * n : 2]]
            lex_ids = [int(x, 16) for x in parts[5 : 5 + 2 * n : 2]]
            i = 4 + 2 * n
            pointers = []
            for _ in range(int(parts[i])):
                sym, off, tpos, st = parts[i + 1 : i + 5]
                pointers.append((sym, off, "a" if tpos == "s" else tpos, int(st[:2], 16), int(st[2:], 16)))
                i += 4
            key_pos = "a" if pos == "s" else pos
            synsets[(key_pos, offset)] = Synset(offset, key_pos, lexfile, SS_TYPE[pos], words, lex_ids, pointers)
    return synsets


def counts(root: Path) -> dict[str, tuple[int, int]]:
    """'lemma%ss_type:lexfile:lex_id' -> (sense number, tag count), from cntlist.rev."""
    out = {}
    for line in (root / "cntlist.rev").read_text(encoding="latin-1").splitlines():
        key, sense, count = line.split()
        out[":".join(key.split(":")[:3])] = (int(sense), int(count))
    return out


def write_licence(path: Path) -> None:
    """WordNet's licence asks for its notice on every copy, modifications included: ship it beside the questions."""
    text = Path("/usr/share/doc/wordnet-base/copyright").read_text()
    block = text.split("License: WordNet3.0\n", 1)[1].split("\n\n", 1)[0]
    notice = "\n".join(line[1:] if line.startswith(" ") else line for line in block.splitlines()).replace("\n.\n", "\n\n")
    header = "wordnet_questions.jsonl is derived from WordNet 3.0 by scripts/make_wordnet_questions.py.\n\n"
    path.write_text(header + notice.strip() + "\n")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--wordnet", type=Path, default=Path("/usr/share/wordnet"))
    parser.add_argument("--out", type=Path, default=OUT)
    parser.add_argument("--min-count", type=int, default=5, help="sense-tagged occurrences that make a word familiar")
    parser.add_argument("--max-per-relation", type=int, default=1200)
    args = parser.parse_args()
    rng = random.Random(0)
    synsets = load(args.wordnet)
    tags = counts(args.wordnet)

    # Familiar words of each synset: plain lower-case lemmas whose first sense this synset is.
    familiar: dict[tuple[str, str], list[str]] = {}
    senses: dict[tuple[str, str], list[tuple[str, str]]] = defaultdict(list)  # (pos, word) -> its synsets
    for key, s in synsets.items():
        words = []
        for word, lex_id in zip(s.words, s.lex_ids):
            senses[(s.pos, word.lower().replace("_", " "))].append(key)
            if not re.fullmatch(r"[a-z]+(?:[_-][a-z]+)?", word):  # no proper nouns, at most two words
                continue
            hit = tags.get(f"{word}%{s.ss_type}:{s.lexfile:02d}:{lex_id:02d}")
            if hit and hit[0] == 1 and hit[1] >= args.min_count:
                words.append(word.replace("_", " "))
        if words:
            familiar[key] = words

    def closure(keys, symbols) -> set[tuple[str, str]]:
        seen, stack = set(), list(keys)
        while stack:
            k = stack.pop()
            for sym, off, tpos, _, _ in synsets[k].pointers:
                t = (tpos, off)
                if sym in symbols and t not in seen:
                    seen.add(t)
                    stack.append(t)
        return seen

    def words_of(keys) -> set[str]:
        return {w.lower().replace("_", " ") for k in keys for w in synsets[k].words}

    pools: dict[str, list[tuple[str, int]]] = defaultdict(list)  # pos -> (word, lexfile), a word's first sense only
    for (pos, off), words in sorted(familiar.items()):
        pools[pos].append((words[0], synsets[(pos, off)].lexfile))

    def distractors(pos: str, avoid_lexfiles: set[int], avoid_words: set[str], n: int = 3) -> list[str] | None:
        """`n` different words drawn at random, none from `avoid_lexfiles` or in `avoid_words`."""
        out: list[str] = []
        for _ in range(1000):
            w, lexfile = rng.choice(pools[pos])
            if lexfile not in avoid_lexfiles and w not in avoid_words and w not in out:
                out.append(w)
                if len(out) == n:
                    return out
        return None

    def article(w: str) -> str:
        return ("an " if w[0] in "aeiou" else "a ") + w

    questions: dict[str, list[dict]] = defaultdict(list)

    def add(relation, question, answer, wrong, filled):
        choices = [answer] + wrong
        rng.shuffle(choices)
        questions[relation].append(
            {"question": question, "choices": choices, "answer": choices.index(answer), "relation": relation, "text": filled}
        )

    for key in sorted(familiar):
        s = synsets[key]
        cue = familiar[key][0]
        cue_senses = senses[(s.pos, cue)]
        for sym, off, tpos, src, dst in s.pointers:
            target = (tpos, off)
            if target not in familiar:
                continue
            t = synsets[target]
            answer = familiar[target][0]
            if answer == cue or answer in cue.split() or cue in answer.split():
                continue  # "a naval blockade is a kind of blockade" asks nothing
            if s.pos == "n" and sym in ("@", "@i"):
                if re.search(r"[^su]s$", cue):
                    continue  # plural-looking cue ("values", "affairs"): "a values" reads wrong
                avoid = words_of(closure(cue_senses, {"@", "@i"}) | set(cue_senses))
                wrong = distractors("n", {s.lexfile, t.lexfile}, avoid)
                if wrong:
                    add("hypernym", f"{article(cue)} is a kind of ___", answer, wrong, f"{article(cue)} is a kind of {answer}")
            elif s.pos == "n" and sym == "%p":  # the whole `cue` has the part `answer`: ask for the whole
                whole, part = cue, answer
                part_senses = senses[("n", part)]
                wholes = closure(part_senses, {"#p"})
                avoid = words_of(wholes | closure(wholes, {"@", "@i"}) | set(part_senses))
                wrong = distractors("n", {s.lexfile, t.lexfile}, avoid)
                if wrong:
                    add("part", f"{article(part)} is part of the ___", whole, wrong, f"{article(part)} is part of the {whole}")
            elif sym == "!" and s.pos in ("n", "a"):
                # Antonymy links words, not synsets: use exactly the two linked words.
                a, b = s.words[src - 1].lower().replace("_", " "), t.words[dst - 1].lower().replace("_", " ")
                if a not in familiar[key] or b not in familiar[target]:
                    continue
                related = set(senses[(s.pos, a)]) | set(senses[(s.pos, b)])
                related |= closure(related, {"!", "&", "@", "~"})
                wrong = distractors(s.pos, set(), words_of(related) | {a, b})
                if wrong:
                    add("antonym", f"the opposite of {a} is ___", b, wrong, f"the opposite of {a} is {b}")
            elif s.pos == "v" and sym in ("*", ">"):
                linked = closure(cue_senses, {"*", ">"})
                avoid = words_of(linked | set(cue_senses) | closure(cue_senses, {"@"}))
                wrong = distractors("v", {s.lexfile, t.lexfile}, avoid)
                if not wrong:
                    continue
                if sym == "*":
                    add("entailment", f"to {cue}, you must ___", answer, wrong, f"to {cue}, you must {answer}")
                else:
                    add("cause", f"to {cue} is to cause to ___", answer, wrong, f"to {cue} is to cause to {answer}")

    args.out.parent.mkdir(parents=True, exist_ok=True)
    write_licence(args.out.with_suffix(".LICENSE"))
    with args.out.open("w", encoding="utf-8") as f:
        for relation in ("hypernym", "part", "antonym", "entailment", "cause"):
            qs = list({q["question"]: q for q in questions[relation]}.values())  # one question per cue
            rng.shuffle(qs)
            qs = sorted(qs[: args.max_per_relation], key=lambda q: q["question"])
            for q in qs:
                f.write(json.dumps(q, ensure_ascii=False) + "\n")
            print(f"{relation:<11} {len(qs):>5}  e.g. {qs[0]['question']!r} -> {qs[0]['choices']} [{qs[0]['answer']}]")
    print(f"{args.out}: {args.out.stat().st_size / 1e3:.0f} kB")


if __name__ == "__main__":
    main()
