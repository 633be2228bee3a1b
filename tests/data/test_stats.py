"""`pathways data stats CONFIG`: records, field types, token lengths and row fill, for one dataset or each mixture source."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from pathways.cli import main
from pathways.data import ByteTokenizer
from pathways.data._chat import render

ROOT = Path(__file__).resolve().parents[2]


def stats_json(capsys, *args) -> dict:
    assert main(["data", "stats", *map(str, args), "--json"]) == 0
    return json.loads(capsys.readouterr().out)


def test_chat_lengths_are_the_rendered_conversations(capsys):
    out = stats_json(capsys, ROOT / "examples/own_chat.yaml")
    (s,) = out["sources"].values()
    chats = [json.loads(line)["messages"] for line in (ROOT / "examples/own_data/chats.jsonl").read_text().splitlines()]
    lengths = np.array([len(render([(m["role"], m["content"]) for m in c], ByteTokenizer(), "plain")[0]) for c in chats])
    t = s["tokens"]["tokens"]
    assert s["records"] == s["measured"] == 76 and s["fields"] == {"messages": "list"}
    assert (t["min"], t["max"], t["median"]) == (lengths.min(), lengths.max(), float(np.median(lengths)))
    assert sum(h["count"] for h in t["histogram"]) == 76
    assert t["truncated"] == float((lengths > 144).mean())
    assert np.isclose(t["fill"]["padded"], np.minimum(lengths, 144).sum() / (76 * 144))
    assert t["fill"]["packed"] > t["fill"]["padded"]


def test_each_mixture_source_is_reported_and_limit_and_eval_apply(capsys):
    out = stats_json(capsys, ROOT / "examples/own_mixture.yaml", "--limit", 10)
    assert list(out["sources"]) == ["english_prose", "captions", "notes"]
    assert out["sources"]["captions"]["records"] == 24 and out["sources"]["captions"]["measured"] == 10
    held = stats_json(capsys, ROOT / "examples/own_mixture.yaml", "--eval")
    assert list(held["sources"]) == ["english_prose"] and held["split"] == "eval"
    assert main(["data", "stats", str(ROOT / "examples/own_chat.yaml"), "--eval"]) != 0
    assert "--eval: the config names no eval_config" in capsys.readouterr().err


def test_the_packed_example_reports_near_full_packed_rows(capsys):
    assert main(["data", "stats", str(ROOT / "examples/packed_prose.yaml")]) == 0
    text = capsys.readouterr().out
    assert "english_prose: 2,746 records" in text and "packed" in text
    out = stats_json(capsys, ROOT / "examples/packed_prose.yaml")
    fill = out["sources"]["english_prose"]["tokens"]["tokens"]["fill"]
    assert fill["packed"] > 0.99 and fill["padded"] < 0.4
