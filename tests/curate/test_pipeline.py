"""The curation pipeline end to end, through `pathways data curate` as a user runs it."""

from __future__ import annotations

import itertools
import json

import pytest

from pathways.cli import main
from pathways.curate import DEFAULT_CHAIN, Pipeline, build_chain
from pathways.data._sentencepiece import SAMPLES
from tests.curate.conftest import prose, read_jsonl, write_jsonl
from tests.curate.test_dedup import edit


def curate(tmp_path, *extra: str, input_name: str = "in.jsonl") -> int:
    return main(
        ["data", "curate", str(tmp_path / input_name), "--out", str(tmp_path / "out.jsonl"), "--report", str(tmp_path / "report.json"), *extra]
    )


def check_counts(report: dict) -> None:
    """What the report promises: per filter seen = kept + dropped, each filter sees what the one before kept."""
    seen = report["documents"]
    for f in report["filters"]:
        assert f["seen"] == seen == f["kept"] + f["dropped"], f["name"]
        assert sum(f["reasons"].values()) == f["dropped"], f["name"]
        seen = f["kept"]
    assert seen == report["kept"] == report["documents"] - report["dropped"]
    lines = report["lines"]
    assert lines["total"] == report["documents"] + lines["blank"] + lines["malformed"]


@pytest.fixture
def corpus(tmp_path, english):
    original = prose(1500, 300)
    docs = [
        "",
        {"id": "a", "text": english, "url": "https://example.org/a", "meta": {"tags": ["x", "y"], "score": 0.5}, "note": "Ünïcødé ✓"},
        "",
        "{not json",
        {"id": "short", "text": "Too short to be a document."},
        "[1, 2]",
        {"id": "spam", "text": prose(100, 80) + " Buy Viagra today."},
        {"id": "copy", "text": english},
        {"id": "orig", "text": original},
        {"id": "near", "text": edit(original, 60)},
        {"id": "no-text", "text": 5},
        {"id": "fr", "text": SAMPLES["latin-fr"]},
    ]
    return write_jsonl(tmp_path / "in.jsonl", docs), docs


def test_default_chain_end_to_end(tmp_path, corpus, capsys):
    _, docs = corpus
    assert curate(tmp_path, "--json") == 0
    captured = capsys.readouterr()
    report = json.loads(captured.out)
    assert report == json.loads((tmp_path / "report.json").read_text()) and report["timing"]["seconds"] >= 0
    check_counts(report)
    assert report["lines"] == {"total": 12, "blank": 2, "malformed": 3}
    assert [(m["line"], m["error"].split(":")[0]) for m in report["malformed"]] == [
        (4, "invalid JSON"),
        (6, "not a JSON object (a list)"),
        (11, "no string 'text' field"),
    ]
    assert "in.jsonl:4: malformed line skipped: invalid JSON" in captured.err
    assert [f["name"] for f in report["filters"]] == [s["type"] for s in DEFAULT_CHAIN]
    reasons = {f["name"]: f["reasons"] for f in report["filters"]}
    assert reasons == {
        "language_id": {},
        "gopher_quality": {"word_count": 1},
        "blocklist": {"blocklist": 1},
        "exact_dedup": {"exact_duplicate": 1},
        "minhash_dedup": {"near_duplicate": 1},
    }
    examples = {f["name"]: f["examples"] for f in report["filters"]}
    assert examples["gopher_quality"] == [{"line": 5, "reason": "word_count: 6 < 50", "text": "Too short to be a document."}]
    assert examples["exact_dedup"][0]["reason"] == "exact_duplicate: of id a" and examples["exact_dedup"][0]["line"] == 8
    assert examples["minhash_dedup"][0]["line"] == 10 and len(examples["minhash_dedup"][0]["text"]) == 201  # truncated
    out = read_jsonl(tmp_path / "out.jsonl")
    assert [d["id"] for d in out] == ["a", "orig", "fr"]
    assert out[0] == {**docs[1], "script": "Latin", "language": "en"}  # every field as it was, plus language id
    assert out[2]["language"] == "fr"  # no English stop words, and kept: that rule is English-only
    assert "Ünïcødé ✓" in (tmp_path / "out.jsonl").read_text(encoding="utf-8")


def test_table_output(tmp_path, corpus, capsys):
    assert curate(tmp_path) == 0
    out = capsys.readouterr().out
    assert "gopher_quality" in out and "word_count 1" in out
    assert "kept 3 of 7 documents (42.9%); 3 malformed lines skipped" in out


def test_strict_makes_a_malformed_line_fatal(tmp_path, corpus, capsys):
    assert curate(tmp_path, "--strict") == 2
    err = capsys.readouterr().err
    assert f"error: {tmp_path / 'in.jsonl'}:4: malformed line: invalid JSON" in err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in.jsonl"]  # no output, no report, no temporary file


def test_empty_or_missing_input_is_a_clear_error(tmp_path, capsys):
    (tmp_path / "in.jsonl").write_text("")
    assert curate(tmp_path) == 2
    assert "in.jsonl: the input is empty: no JSON lines to curate" in capsys.readouterr().err
    (tmp_path / "in.jsonl").write_text("\n  \n\n")
    assert curate(tmp_path) == 2
    assert "the input is empty" in capsys.readouterr().err
    assert curate(tmp_path, input_name="missing.jsonl") == 2
    assert "missing.jsonl: cannot read input: No such file or directory" in capsys.readouterr().err
    assert not (tmp_path / "out.jsonl").exists()


def test_chain_file_errors_point_at_the_yaml(tmp_path, corpus, capsys):
    (tmp_path / "filters.yaml").write_text(
        "- type: gopher_qualty\n- type: minhash_dedup\n  config:\n    shingle: 5\n- {type: minhash_dedup, config: {bands: 10}}\n"
    )
    assert curate(tmp_path, "--filters", str(tmp_path / "filters.yaml")) == 2
    err = capsys.readouterr().err.splitlines()
    assert err[0].startswith(f"error: {tmp_path / 'filters.yaml'}:1:3: 0.type: unknown filter type 'gopher_qualty'; did you mean 'gopher_quality'?")
    assert err[1].endswith(":4:5: 1.config.shingle: unknown field 'shingle' (fields: bands, ngram, num_perm, seed, threshold)")
    assert err[2].endswith(":5:25: 2.config: bands (10) must divide num_perm (128)")


def test_workers_give_the_same_output_and_report(tmp_path):
    """Two worker processes, many small chunks, a chain with a stateless filter after a stateful one."""
    docs = []
    for i in range(120):
        text = prose((i * 23) % 2700, 60 + (i % 5) * 40)
        docs.append({"n": i, "text": text if i % 7 else text[:80]})  # some too short
        if i % 10 == 3:
            docs.append({"n": f"{i}-copy", "text": text})
        if i % 10 == 6:
            docs.append({"n": f"{i}-near", "text": edit(text, 50)})
        if i % 30 == 0:
            docs.append("{broken")
    write_jsonl(tmp_path / "in.jsonl", docs)
    (tmp_path / "chain.yaml").write_text(
        "- {type: language_id}\n- {type: exact_dedup}\n- {type: c4_quality, config: {min_sentences: 2}}\n"
        "- {type: gopher_quality}\n- {type: minhash_dedup}\n"
    )
    reports, outputs = [], []
    for workers in ("1", "2"):
        assert curate(tmp_path, "--filters", str(tmp_path / "chain.yaml"), "--workers", workers, "--chunk-size", "8", "--json") == 0
        reports.append(json.loads((tmp_path / "report.json").read_text()))
        outputs.append((tmp_path / "out.jsonl").read_bytes())
    assert outputs[0] == outputs[1]
    for r in reports:
        check_counts(r)
        del r["timing"], r["workers"]
    assert reports[0] == reports[1]
    assert [f["name"] for f in reports[0]["filters"]] == ["language_id", "exact_dedup", "c4_quality", "gopher_quality", "minhash_dedup"]
    assert all(f["dropped"] for f in reports[0]["filters"][1:])


def test_pipeline_streams_without_reading_ahead():
    """An endless generator of lines: kept documents come out while at most a chunk is read ahead."""
    pulled = 0

    def endless():
        nonlocal pulled
        for n in itertools.count(1):
            pulled += 1
            assert pulled < 10_000, "the pipeline reads its input ahead instead of streaming it"
            yield n, json.dumps({"text": f"document number {n}", "n": n})

    chain = build_chain([{"type": "language_id"}, {"type": "exact_dedup"}])
    pipeline = Pipeline(chain, chunk_size=32)
    first = list(itertools.islice(pipeline.run(endless()), 100))
    assert [d["n"] for _, d in first] == list(range(1, 101))
    assert pulled <= 100 + 32
    assert pipeline.stats[1].seen == pipeline.kept <= 128


def test_shipped_chains_validate():
    from pathways.curate import load_chain
    from tests.conftest import EXAMPLES

    files = sorted((EXAMPLES / "curation").glob("*.yaml"))
    assert files
    for path in files:
        assert load_chain(path).steps
        assert path.read_text().startswith("# pathways data curate ")  # each begins with the command that runs it
