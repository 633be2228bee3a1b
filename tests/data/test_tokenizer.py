"""Tokenizers: a SentencePiece model trained on Botchan plus the multilingual samples, and the byte tokenizer."""

from __future__ import annotations

import hashlib
import io
import json
import shutil
import unicodedata
from pathlib import Path

import pytest

from pathways.cli import main
from pathways.data import ByteTokenizer, SentencePieceTokenizer, TokenizerError, load_tokenizer, train_sentencepiece
from pathways.data._sentencepiece import SAMPLES, tokens_per_char

BOTCHAN = Path(__file__).resolve().parents[2] / "pathways/data/files/botchan.txt"
VOCAB = 1000
# Never in the training text: an emoji (4 UTF-8 bytes), rare CJK (one outside the BMP), Georgian.
UNSEEN = "Ok 😀👍🏽 龘 𠮷 ყველა ადამიანი"
# Article 1 of the UDHR in Georgian, a script the tokenizer is never trained on.
GEORGIAN = "ყველა ადამიანი იბადება თავისუფალი და თანასწორი თავისი ღირსებითა და უფლებებით."


@pytest.fixture(scope="session")
def corpus(tmp_path_factory) -> list[Path]:
    samples = tmp_path_factory.mktemp("corpus") / "samples.txt"
    samples.write_text("\n".join(SAMPLES.values()) + "\n", encoding="utf-8")
    return [BOTCHAN, samples]


@pytest.fixture(scope="session")
def tok(corpus, tmp_path_factory) -> SentencePieceTokenizer:
    model = train_sentencepiece(corpus, VOCAB, tmp_path_factory.mktemp("tok") / "udhr")
    return SentencePieceTokenizer(model)


def run(capsys, *argv):
    code = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


# ---- round trips -----------------------------------------------------------


@pytest.mark.parametrize("script", SAMPLES)
def test_round_trip_every_script(tok, script):
    ids = tok.encode(SAMPLES[script])
    assert tok.decode(ids) == SAMPLES[script]
    assert tok.unk_id not in ids


@pytest.mark.parametrize("script", SAMPLES)
def test_byte_tokenizer_round_trip_every_script(script):
    tok = ByteTokenizer()
    ids = tok.encode(SAMPLES[script])
    assert tok.decode(ids) == SAMPLES[script]
    assert len(ids) == len(SAMPLES[script].encode("utf-8")) + 2


def test_unseen_characters_fall_back_to_bytes_never_unk(tok, corpus):
    text = UNSEEN + "\ttabs\r\n  runs   of spaces \x00\u200d"
    training = "".join(p.read_text(encoding="utf-8-sig") for p in corpus)
    assert not set("😀龘𠮷ყ\x00") & set(training)
    ids = tok.encode(text, bos=False, eos=False)
    assert tok.decode(ids) == text
    assert tok.unk_id not in ids
    pieces = [tok.id_to_piece(i) for i in tok.encode("😀", bos=False, eos=False)]
    assert pieces == ["<0xF0>", "<0x9F>", "<0x98>", "<0x80>"]


def test_digits_are_single_pieces(tok):
    text = "In 1905 there were 12345 cats, 007 dogs and 3.14159 pies."
    ids = tok.encode(text, bos=False, eos=False)
    with_digits = [tok.decode([i]) for i in ids if any(c.isdigit() for c in tok.decode([i]))]
    assert with_digits == [c for c in text if c.isdigit()]


def test_crlf_and_bom_of_the_corpus_are_not_learned(tok):
    assert BOTCHAN.read_bytes().startswith(b"\xef\xbb\xbf") and b"\r\n" in BOTCHAN.read_bytes()
    pieces = [tok.id_to_piece(i) for i in range(tok.vocab_size)]
    assert not [p for p in pieces if "\r" in p or "\ufeff" in p]


# ---- ids, padding, identity ------------------------------------------------


def test_special_ids_and_padding_match_the_byte_tokenizer(tok):
    assert (tok.pad_id, tok.bos_id, tok.eos_id, tok.unk_id) == (0, 1, 2, 3)
    assert tok.vocab_size == VOCAB
    ids = tok.encode("the cat")
    assert ids[0] == 1 and ids[-1] == 2 and 0 not in ids
    assert tok.encode("the cat", bos=False, eos=False) == ids[1:-1]
    padded = tok.pad(ids, len(ids) + 3)
    assert padded.tolist() == ids + [0, 0, 0] and padded.dtype.name == "int32"
    assert tok.pad(ids, 2).tolist() == ids[:2]
    assert tok.decode(padded) == "the cat"  # pad, bos, eos decode to nothing
    with pytest.raises(TokenizerError, match=f"{VOCAB}"):
        tok.decode([5, VOCAB])


def test_sha256_is_of_the_file_and_training_is_reproducible(tok, corpus, tmp_path):
    assert tok.sha256 == hashlib.sha256(tok.path.read_bytes()).hexdigest()
    moved = shutil.copy(tok.path, tmp_path / "elsewhere.model")
    assert SentencePieceTokenizer(moved).sha256 == tok.sha256
    again = train_sentencepiece(corpus, VOCAB, tmp_path / "again")
    assert SentencePieceTokenizer(again).sha256 == tok.sha256


def test_load_tokenizer_bytes_or_a_path_relative_to_base_dir(tok):
    assert isinstance(load_tokenizer("bytes", tok.path.parent), ByteTokenizer)
    loaded = load_tokenizer(tok.path.name, tok.path.parent)
    assert isinstance(loaded, SentencePieceTokenizer) and loaded.sha256 == tok.sha256


# ---- tokens per character --------------------------------------------------


def test_samples_cover_the_scripts():
    names = {key: {unicodedata.name(c, "").split()[0] for c in text if c.isalpha()} for key, text in SAMPLES.items()}
    expected = {
        "latin-en": "LATIN", "latin-fr": "LATIN", "latin-de": "LATIN", "cyrillic-ru": "CYRILLIC", "greek-el": "GREEK",
        "arabic-ar": "ARABIC", "hebrew-he": "HEBREW", "devanagari-hi": "DEVANAGARI", "thai-th": "THAI",
        "cjk-zh": "CJK", "cjk-ja": "HIRAGANA", "hangul-ko": "HANGUL",
    }  # fmt: skip
    assert {k: v for k, v in expected.items() if v not in names.get(k, ())} == {}
    assert "CJK" in names["cjk-ja"]  # kanji and kana
    assert set("éèûà") & set(SAMPLES["latin-fr"]) and set("üä") & set(SAMPLES["latin-de"])


def test_tokens_per_char_every_script_english_cheapest(tok):
    ratios = tokens_per_char(tok, SAMPLES)
    assert list(ratios) == list(SAMPLES) and all(r > 0 for r in ratios.values())
    assert ratios["latin-en"] < 0.5  # most of the training text is English
    assert all(ratios["latin-en"] < r for s, r in ratios.items() if s != "latin-en")
    # A script never seen is spelled in bytes: 3 per Georgian letter.
    unseen = tokens_per_char(tok, {"georgian": GEORGIAN})["georgian"]
    assert unseen > 2.5 and unseen > 4 * ratios["latin-en"]
    assert tokens_per_char(ByteTokenizer(), {"en": SAMPLES["latin-en"]}) == {"en": 1.0}


# ---- errors ----------------------------------------------------------------


def test_missing_or_non_model_files_name_the_file(tmp_path):
    for path, says in [
        (tmp_path / "missing.model", "no such file"),
        (BOTCHAN, "not a SentencePiece model"),
        (tmp_path, "is a directory"),
    ]:
        with pytest.raises(TokenizerError) as info:
            SentencePieceTokenizer(path)
        assert len(info.value.problems) == 1 and str(info.value).startswith(f"{path}: ") and says in str(info.value)
    with pytest.raises(TokenizerError, match="missing.model: no such file: a tokenizer is `bytes` or a path"):
        load_tokenizer("missing.model", tmp_path)


def test_bad_training_inputs_name_the_file(tmp_path):
    empty, blank = tmp_path / "empty.txt", tmp_path / "blank.txt"
    empty.write_text("")
    blank.write_text("  \n\n\t\n")
    with pytest.raises(TokenizerError) as info:
        train_sentencepiece([empty, tmp_path / "nope.txt", blank, BOTCHAN], 500, tmp_path / "t")
    assert [str(p) for p in info.value.problems] == [
        f"{empty}: is empty (nothing but whitespace): nothing to train on",
        f"{tmp_path / 'nope.txt'}: no such file",
        f"{blank}: is empty (nothing but whitespace): nothing to train on",
    ]
    binary = tmp_path / "latin1.txt"
    binary.write_bytes("fine\ncaf\u00e9\n".encode("latin-1"))
    with pytest.raises(TokenizerError, match=r"latin1.txt:2: not UTF-8 text"):
        train_sentencepiece([binary], 500, tmp_path / "t")


def test_vocab_too_large_for_the_data_is_explained(tmp_path):
    small = tmp_path / "small.txt"
    small.write_text("the cat sat on the mat\n" * 20)
    with pytest.raises(TokenizerError) as info:
        train_sentencepiece([small], 2000, tmp_path / "t")
    (problem,) = info.value.problems
    assert problem.where == "vocab_size" and str(small) in problem.message
    assert "2000 is more pieces than" in problem.message and "at most" in problem.message


def test_overrides_pass_through_to_sentencepiece(tmp_path):
    with pytest.raises(TokenizerError, match="no_such_flag: is not a SentencePiece trainer option"):
        train_sentencepiece([BOTCHAN], 500, tmp_path / "t", no_such_flag=1)
    model = train_sentencepiece([BOTCHAN], 500, tmp_path / "nopad", pad_id=-1)  # SentencePiece's own default
    with pytest.raises(TokenizerError, match="needs pad id 0.*this model has pad -1"):
        SentencePieceTokenizer(model)


# ---- CLI -------------------------------------------------------------------


def test_cli_train_gives_the_library_model(capsys, corpus, tok, tmp_path):
    code, out, err = run(capsys, "tokenizer", "train", "--input", *corpus, "--vocab-size", VOCAB, "--out", tmp_path / "cli/udhr")
    assert code == 0, err
    assert out.splitlines() == [
        f"wrote {tmp_path / 'cli/udhr.model'}",
        f"wrote {tmp_path / 'cli/udhr.vocab'}",
        f"vocab size {VOCAB} (pad 0, bos 1, eos 2, unk 3), sha256 {tok.sha256}",
    ]
    code, out, err = run(capsys, "tokenizer", "train", "--input", BOTCHAN, "--vocab-size", 500, "--out", tmp_path / "b",
                         "--model-type", "bpe", "--option", "split_digits=false", "--option", "oops")  # fmt: skip
    assert code == 2 and err == "error: --option: 'oops' is not KEY=VALUE\n"


def test_cli_encode_decode(capsys, tok, monkeypatch):
    text = "Botchan said 42 things 😀"
    code, out, _ = run(capsys, "tokenizer", "encode", tok.path, text, "--json")
    data = json.loads(out)
    assert code == 0 and data["ids"] == tok.encode(text) and len(data["pieces"]) == len(data["ids"])
    assert data["pieces"][0] == "<s>" and data["pieces"][-1] == "</s>" and "<0xF0>" in data["pieces"]
    monkeypatch.setattr("sys.stdin", io.StringIO(text + "\n"))
    code, out, _ = run(capsys, "tokenizer", "encode", tok.path)
    assert code == 0 and out == " ".join(map(str, tok.encode(text))) + "\n"
    code, out, _ = run(capsys, "tokenizer", "decode", tok.path, *out.split())
    assert code == 0 and out == text + "\n"
    code, out, _ = run(capsys, "tokenizer", "encode", "bytes", "hé", "--no-bos", "--no-eos", "--json")
    assert json.loads(out) == {"ids": [107, 198, 172], "pieces": ["h", "<0xC3>", "<0xA9>"]}


def test_cli_stats(capsys, tok):
    code, out, _ = run(capsys, "tokenizer", "stats", tok.path, "--json")
    data = json.loads(out)
    assert code == 0 and data["vocab_size"] == VOCAB and data["sha256"] == tok.sha256
    assert data["special_ids"] == {"pad": 0, "bos": 1, "eos": 2, "unk": 3}
    assert data["tokens_per_char"] == pytest.approx(tokens_per_char(tok, SAMPLES))
    code, out, _ = run(capsys, "tokenizer", "stats", "bytes")
    assert code == 0 and "bytes: vocab size 259 (pad 0, bos 1, eos 2)" in out
    assert all(script in out for script in SAMPLES)


@pytest.mark.parametrize("command", [["encode", "missing.model", "hi"], ["decode", "missing.model", "1"], ["stats", "missing.model"]])
def test_cli_bad_model_path_exits_2_with_one_error_line(capsys, command):
    code, out, err = run(capsys, "tokenizer", *command)
    assert code == 2 and out == ""
    assert len(err.splitlines()) == 1 and err.startswith("error: ") and "missing.model: no such file" in err


def test_cli_decode_bad_ids(capsys):
    code, _, err = run(capsys, "tokenizer", "decode", "bytes", "1", "x", "300")
    assert code == 2 and err == "error: IDS: not integer token ids: 'x'\n"
    code, _, err = run(capsys, "tokenizer", "decode", "bytes", "[1, 300]")
    assert code == 2 and "300" in err and "outside 0..258" in err
