"""SentencePiece tokenizers: train one with Gemma-like defaults, load one, measure it per script.

A trained model keeps ByteTokenizer's special ids (0 pad, 1 bos, 2 eos; 3 unk),
falls back to UTF-8 bytes for any character it lacks, so no input is ever
unknown, and does no normalization, so `decode(encode(x)) == x` exactly.
"""

from __future__ import annotations

import hashlib
import io
import os
import re
from pathlib import Path

import numpy as np
import sentencepiece as spm

from pathways._errors import PathwaysError, Problem
from pathways.data._tokenizer import ByteTokenizer


class TokenizerError(PathwaysError):
    """A tokenizer cannot be trained or loaded (missing, empty or wrong file; vocab too large)."""


# Gemma-like; each is a SentencePiece trainer flag and can be overridden.
DEFAULTS: dict[str, object] = {
    "model_type": "unigram",
    "byte_fallback": True,  # a character outside the vocab becomes its UTF-8 bytes, never <unk>
    "split_digits": True,  # numbers are read digit by digit
    "character_coverage": 0.9995,  # rarer characters are left to byte fallback
    "pad_id": 0,  # 0 pads, as with ByteTokenizer
    "bos_id": 1,
    "eos_id": 2,
    "unk_id": 3,
    "allow_whitespace_only_pieces": True,  # runs of spaces (code indentation) are pieces
    "remove_extra_whitespaces": False,  # these two make decode(encode(x)) == x exactly
    "normalization_rule_name": "identity",
    "add_dummy_prefix": False,  # no space is made up before the text
    "input_sentence_size": 10_000_000,  # lines sampled for training; more are skipped ...
    "shuffle_input_sentence": True,  # ... at random, not just the tail
    # The unigram trainer's result depends on the thread count: a fixed count
    # (SentencePiece's default) makes the model a function of data and flags alone.
    "num_threads": 16,
    "minloglevel": 1,  # warnings and errors only
    # train_extremely_large_corpus is left out: SentencePiece 0.2 ignores it, with a warning.
}
_SET_BY_ARGUMENTS = ("input", "sentence_iterator", "model_prefix", "model_writer", "vocab_size")


def _problem(path, message: str) -> Problem:
    return Problem("", message, file=str(path))


class SentencePieceTokenizer:
    """A trained SentencePiece model, with ByteTokenizer's interface.

    `sha256` is the digest of the model file's bytes: record it with a
    checkpoint to know which tokenizer the embeddings were trained against.
    """

    def __init__(self, path: str | os.PathLike):
        self.path = Path(path)
        if not self.path.is_file():
            what = "is a directory, not" if self.path.is_dir() else "no such file: expected"
            raise TokenizerError([_problem(self.path, f"{what} a SentencePiece .model file")])
        data = self.path.read_bytes()
        self._sp = spm.SentencePieceProcessor()
        try:
            self._sp.LoadFromSerializedProto(data)
        except RuntimeError as exc:
            why = "it cannot be parsed" if "ParseFromArray" in str(exc) else str(exc)
            raise TokenizerError([_problem(self.path, f"not a SentencePiece model ({why}); train one with `pathways tokenizer train`")]) from None
        self.sha256 = hashlib.sha256(data).hexdigest()
        self.pad_id, self.bos_id, self.eos_id = self._sp.pad_id(), self._sp.bos_id(), self._sp.eos_id()
        self.unk_id = self._sp.unk_id()
        self.vocab_size = self._sp.vocab_size()
        self.name = f"sentencepiece:{self.path.name}"
        if self.pad_id != 0 or self.bos_id < 0 or self.eos_id < 0:
            raise TokenizerError([_problem(
                self.path,
                f"pathways needs pad id 0 and a bos and an eos id; this model has pad {self.pad_id}, bos {self.bos_id}, "
                f"eos {self.eos_id} (-1 is none): retrain it with pad_id=0 bos_id=1 eos_id=2 unk_id=3",
            )])

    def __repr__(self) -> str:
        return f"SentencePieceTokenizer({str(self.path)!r}, vocab_size={self.vocab_size})"

    @property
    def identity(self) -> dict:
        """What a checkpoint records to know which tokenizer its embeddings belong to."""
        return {"type": "sentencepiece", "vocab_size": self.vocab_size, "sha256": self.sha256, "file": self.path.name}

    def encode(self, text: str, *, bos: bool = True, eos: bool = True) -> list[int]:
        ids = self._sp.encode(text, out_type=int)
        return ([self.bos_id] if bos else []) + ids + ([self.eos_id] if eos else [])

    def decode(self, ids) -> str:
        """Text of `ids`; pad, bos and eos decode to nothing."""
        ids = check_ids(self, ids)
        return self._sp.decode(ids)

    def id_to_piece(self, i: int) -> str:
        return self._sp.id_to_piece(int(i))

    def pad(self, ids: list[int], length: int) -> np.ndarray:
        """Truncate or right-pad `ids` with `pad_id` to `length`."""
        out = np.full(length, self.pad_id, dtype=np.int32)
        ids = ids[:length]
        out[: len(ids)] = ids
        return out


def check_ids(tokenizer, ids) -> list[int]:
    """`ids` as ints, or a TokenizerError naming those outside `[0, vocab_size)`."""
    ids = [int(i) for i in ids]
    bad = sorted({i for i in ids if not 0 <= i < tokenizer.vocab_size})
    if bad:
        raise TokenizerError(f"token ids {', '.join(map(str, bad))} are outside 0..{tokenizer.vocab_size - 1} of tokenizer {tokenizer.name}")
    return ids


def pieces(tokenizer, ids) -> list[str]:
    """Readable piece of each id: SentencePiece's own, or `<0x41>`-style bytes for ByteTokenizer."""
    if hasattr(tokenizer, "id_to_piece"):
        return [tokenizer.id_to_piece(i) for i in check_ids(tokenizer, ids)]
    special = {tokenizer.pad_id: "<pad>", tokenizer.bos_id: "<s>", tokenizer.eos_id: "</s>"}
    out = []
    for i in check_ids(tokenizer, ids):
        b = i - tokenizer.offset
        out.append(special.get(i) or (chr(b) if 0x21 <= b < 0x7F else f"<0x{b:02X}>"))
    return out


def load_tokenizer(spec: str, base_dir: str | os.PathLike = ".") -> ByteTokenizer | SentencePieceTokenizer:
    """`"bytes"` is ByteTokenizer; anything else is a path to a SentencePiece `.model` (relative to `base_dir`)."""
    if spec == "bytes":
        return ByteTokenizer()
    path = Path(spec).expanduser()
    if not path.is_absolute():
        path = Path(base_dir) / path
    if not path.exists():
        raise TokenizerError([_problem(path, "no such file: a tokenizer is `bytes` or a path to a SentencePiece .model file")])
    return SentencePieceTokenizer(path)


def _check_input(path: Path) -> str | None:
    """Why `path` cannot be trained on, or None."""
    if not path.exists():
        return "no such file"
    if not path.is_file():
        return "not a file: expected a text file, one sentence or paragraph a line"
    try:
        with open(path, "rb") as f:
            while chunk := f.read(1 << 20):
                if chunk.strip():
                    return None
    except OSError as exc:
        return f"cannot be read: {exc.strerror}"
    return "is empty (nothing but whitespace): nothing to train on"


def _lines(paths: list[Path], problems: list[Problem]):
    """Non-empty lines of each file without their line ends (LF or CRLF) or a leading BOM.

    A line that is not UTF-8 adds a problem and skips the rest of its file.
    """
    for path in paths:
        with open(path, "rb") as f:
            for n, raw in enumerate(f, 1):
                try:
                    line = raw.decode("utf-8").rstrip("\r\n")
                except UnicodeDecodeError as exc:
                    problems.append(Problem("", f"not UTF-8 text ({exc.reason} at byte {exc.start + 1})", file=str(path), line=n))
                    break
                if n == 1:
                    line = line.removeprefix("\ufeff")
                if line:
                    yield line


def train_sentencepiece(inputs, vocab_size: int, out_prefix: str | os.PathLike, **overrides) -> Path:
    """Train a SentencePiece model on text files; returns the path of `<out_prefix>.model` (`.vocab` beside it).

    Each line of each file is a training sentence. `overrides` are SentencePiece
    trainer flags (`model_type="bpe"`, `character_coverage=1.0`, ...) that
    replace the `DEFAULTS`. Nothing is fetched from the network. The same lines
    and flags give the same model file, byte for byte, wherever the files are.
    """
    inputs = [Path(p) for p in inputs]
    if not inputs:
        raise TokenizerError("no input files to train a tokenizer on")
    problems = [_problem(p, why) for p in inputs if (why := _check_input(p))]
    problems += [Problem(k, "is set by the arguments, not an override") for k in overrides if k in _SET_BY_ARGUMENTS]
    if problems:
        raise TokenizerError(problems)
    prefix = Path(out_prefix)
    if prefix.suffix == ".model":
        prefix = prefix.with_suffix("")
    # Lines are streamed from Python and the model comes back as bytes: given
    # SentencePiece's `input` file list and `model_prefix`, it would store both
    # paths in the model, so its bytes (and sha256) would depend on them.
    options = {**DEFAULTS, **overrides, "vocab_size": int(vocab_size)}
    writer = io.BytesIO()
    try:
        spm.SentencePieceTrainer.train(sentence_iterator=_lines(inputs, problems), model_writer=writer, **options)
    except RuntimeError as exc:
        if not problems:  # else a consequence of those
            problems.append(_explain(str(exc), inputs, vocab_size))
    if problems:
        raise TokenizerError(problems)
    model = prefix.parent / f"{prefix.name}.model"
    model.parent.mkdir(parents=True, exist_ok=True)
    model.write_bytes(writer.getvalue())
    sp = spm.SentencePieceProcessor(model_proto=writer.getvalue())
    escape = str.maketrans({"\t": "\\t", "\n": "\\n", "\r": "\\r"})  # keep one `piece<TAB>score` a line
    vocab = "".join(f"{sp.id_to_piece(i).translate(escape)}\t{sp.get_score(i):g}\n" for i in range(sp.vocab_size()))
    (prefix.parent / f"{prefix.name}.vocab").write_text(vocab, encoding="utf-8")
    return model


def _explain(message: str, inputs: list[Path], vocab_size: int) -> Problem:
    files = ", ".join(map(str, inputs))
    if m := re.search(r"Vocabulary size too high \(\d+\)\. Please set it to a value <= (\d+)", message):
        return Problem("vocab_size", f"{vocab_size} is more pieces than {files} can yield (at most {m[1]}): lower it or train on more text")
    if m := re.search(r"unknown field name \"(\w+)\"", message):
        return Problem(m[1], "is not a SentencePiece trainer option (see `pathways tokenizer train --help`)")
    message = re.sub(r"^\w+: (src/\S+ \[.*?\] )?", "", message)  # drop `INTERNAL: src/x.cc(12) [check]`
    return Problem("", f"SentencePiece could not train on {files}: {message}")


def tokens_per_char(tokenizer, texts_by_script: dict[str, str]) -> dict[str, float]:
    """Tokens per character (code point) of each text, without bos/eos: lower is a cheaper script."""
    out = {}
    for script, text in texts_by_script.items():
        if not text:
            raise ValueError(f"no text for script {script!r}")
        out[script] = len(tokenizer.encode(text, bos=False, eos=False)) / len(text)
    return out


# Articles 1 and 3 of the Universal Declaration of Human Rights, written from
# memory of the UN translations (wording may differ slightly from the official
# texts); keyed `script-language`.
SAMPLES: dict[str, str] = {
    "latin-en": "All human beings are born free and equal in dignity and rights. They are endowed with reason and "
    "conscience and should act towards one another in a spirit of brotherhood. Everyone has the right to life, "
    "liberty and security of person.",
    "latin-fr": "Tous les êtres humains naissent libres et égaux en dignité et en droits. Ils sont doués de raison et "
    "de conscience et doivent agir les uns envers les autres dans un esprit de fraternité. Tout individu a droit à "
    "la vie, à la liberté et à la sûreté de sa personne.",
    "latin-de": "Alle Menschen sind frei und gleich an Würde und Rechten geboren. Sie sind mit Vernunft und Gewissen "
    "begabt und sollen einander im Geist der Brüderlichkeit begegnen. Jeder hat das Recht auf Leben, Freiheit und "
    "Sicherheit der Person.",
    "cyrillic-ru": "Все люди рождаются свободными и равными в своём достоинстве и правах. Они наделены разумом и "
    "совестью и должны поступать в отношении друг друга в духе братства. Каждый человек имеет право на жизнь, на "
    "свободу и на личную неприкосновенность.",
    "greek-el": "Όλοι οι άνθρωποι γεννιούνται ελεύθεροι και ίσοι στην αξιοπρέπεια και τα δικαιώματα. Είναι "
    "προικισμένοι με λογική και συνείδηση, και οφείλουν να συμπεριφέρονται μεταξύ τους με πνεύμα αδελφοσύνης. "
    "Κάθε άτομο έχει δικαίωμα στη ζωή, την ελευθερία και την προσωπική ασφάλεια.",
    "arabic-ar": "يولد جميع الناس أحرارًا متساوين في الكرامة والحقوق. وقد وهبوا عقلاً وضميرًا وعليهم أن يعامل بعضهم "
    "بعضًا بروح الإخاء. لكل فرد الحق في الحياة والحرية وسلامة شخصه.",
    "hebrew-he": "כל בני האדם נולדו בני חורין ושווים בערכם ובזכויותיהם. כולם חוננו בתבונה ובמצפון, לפיכך חובה "
    "עליהם לנהוג איש ברעהו ברוח של אחוה. כל אדם יש לו הזכות לחיים, לחירות ולבטחון אישי.",
    "devanagari-hi": "सभी मनुष्यों को गौरव और अधिकारों के मामले में जन्मजात स्वतन्त्रता और समानता प्राप्त है। उन्हें "
    "बुद्धि और अन्तरात्मा की देन प्राप्त है और परस्पर उन्हें भाईचारे के भाव से बर्ताव करना चाहिए। प्रत्येक व्यक्ति को "
    "जीवन, स्वाधीनता और वैयक्तिक सुरक्षा का अधिकार है।",
    "thai-th": "มนุษย์ทั้งหลายเกิดมามีอิสระและเสมอภาคกันในเกียรติศักดิ์และสิทธิ ต่างมีเหตุผลและมโนธรรม "
    "และควรปฏิบัติต่อกันด้วยเจตนารมณ์แห่งภราดรภาพ ทุกคนมีสิทธิในชีวิต เสรีภาพ และความมั่นคงแห่งบุคคล",
    "cjk-zh": "人人生而自由，在尊严和权利上一律平等。他们赋有理性和良心，并应以兄弟关系的精神相对待。"
    "人人有权享有生命、自由和人身安全。",
    "cjk-ja": "すべての人間は、生まれながらにして自由であり、かつ、尊厳と権利とについて平等である。"
    "人間は、理性と良心とを授けられており、互いに同胞の精神をもって行動しなければならない。"
    "すべて人は、生命、自由及び身体の安全に対する権利を有する。",
    "hangul-ko": "모든 인간은 태어날 때부터 자유로우며 그 존엄과 권리에 있어 동등하다. 인간은 천부적으로 이성과 "
    "양심을 부여받았으며 서로 형제애의 정신으로 행동하여야 한다. 모든 사람은 생명과 신체의 자유와 안전에 대한 권리를 가진다.",
}
