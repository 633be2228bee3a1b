"""kill -9 soak for `pathways data curate`: killed at random moments, its output is the old file or the
whole new one, never a part, and the run that finishes keeps or reports dropped every document once.

A user's earlier output sits at `--out` throughout; every kill (some while the
output is being streamed, some while the report is written, some at start-up)
must leave it untouched or replaced by the complete result. The final run's
output and report equal an uninterrupted run's.
"""

from __future__ import annotations

import json
import os
import random
from pathlib import Path

import pytest

from pathways.data.prose import paragraphs, sentences
from tests.curate.conftest import write_jsonl
from tests.forkserver import ForkServer, wait_for

KILLS = 20
DOCS = 4000


def corpus(path):
    """Botchan windows of 40-160 words, with exact and near copies, short documents and malformed lines."""
    rng = random.Random(0)
    pool = [s for p in paragraphs()[1:] for s in sentences(p)]
    docs: list = []
    for i in range(DOCS):
        roll = rng.random()
        if roll < 0.1 and docs:
            docs.append({**rng.choice([d for d in docs[-50:] if isinstance(d, dict)]), "id": i})  # an exact copy
        elif roll < 0.12:
            docs.append("{torn line")
        elif roll < 0.2:
            docs.append({"id": i, "text": " ".join(rng.sample(pool, 1))})  # short
        else:
            start, words, text = rng.randrange(len(pool) - 60), rng.randint(40, 160), []
            while sum(len(t.split()) for t in text) < words:
                text.append(pool[start + len(text)])
            docs.append({"id": i, "text": " ".join(text)})
    return write_jsonl(path, docs)


def _writing(directory, name: str) -> bool:
    return any(n.startswith(f".{name}.tmp-") for n in os.listdir(directory))


def _pool_processes() -> set[int]:
    """Process ids of multiprocessing forkservers and their workers on this machine."""
    found = set()
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
        except OSError:
            continue
        if b"multiprocessing.forkserver" in cmdline:
            found.add(int(pid))
    return found


def _comparable(report: dict) -> dict:
    return {k: v for k, v in report.items() if k not in ("timing", "output", "bytes")}


@pytest.mark.slow
def test_kill_9_during_curation_never_leaves_part_of_an_output(tmp_path):
    source = corpus(tmp_path / "in.jsonl")
    out, report = tmp_path / "out" / "kept.jsonl", tmp_path / "out" / "report.json"
    out.parent.mkdir()
    before = _pool_processes()
    server = ForkServer(tmp_path)
    argv = ["data", "curate", source, "--workers", "2", "--chunk-size", "64", "--report"]
    try:
        assert server.wait(server.start(*argv, tmp_path / "ref.json", "--out", tmp_path / "ref.jsonl")) == {"exit": 0}, server.log.read_text()
        reference, reference_report = (tmp_path / "ref.jsonl").read_bytes(), json.loads((tmp_path / "ref.json").read_text())
        previous = b'{"text": "the output of an earlier curation"}\n'
        out.write_bytes(previous)
        report.write_text("{}")
        rng, kills, during = random.Random(1), 0, {"output": 0, "report": 0}
        while kills < KILLS:
            pid = server.start(*argv, report, "--out", out)
            if kills % 4 == 0:  # while the report is written (after the output is in place)
                seen = wait_for(lambda: _writing(out.parent, report.name), timeout=30) and "report"
            elif kills % 4 == 1:  # while the output is streamed out
                wait_for(lambda: _writing(out.parent, out.name), timeout=30)
                wait_for(lambda: False, timeout=rng.uniform(0, 0.5))
                seen = _writing(out.parent, out.name) and "output"
            else:  # anywhere, start-up included
                wait_for(lambda: False, timeout=rng.uniform(0.05, 2.5))
                seen = None
            os.kill(pid, 9)
            result = server.wait(pid)
            assert result in ({"signal": 9}, {"exit": 0}), server.log.read_text()[-3000:]
            kills += result == {"signal": 9}
            if result == {"signal": 9} and seen:
                during[seen] += 1
            assert out.read_bytes() in (previous, reference)  # the old file or the whole new one
            if out.read_bytes() == reference and report.read_text() != "{}":
                assert _comparable(json.loads(report.read_text())) == _comparable(reference_report)
            out.write_bytes(previous)  # the next kill must again keep the user's file
            report.write_text("{}")
        assert server.wait(server.start(*argv, report, "--out", out)) == {"exit": 0}
    finally:
        server.close()
    assert kills == KILLS and during["output"] >= 3 and during["report"] >= 1, (kills, during)
    assert "Traceback" not in server.log.read_text()
    assert out.read_bytes() == reference
    final = json.loads(report.read_text())
    assert _comparable(final) == _comparable(reference_report)
    kept = [json.loads(line)["id"] for line in out.read_text().splitlines()]
    assert len(kept) == len(set(kept)) == final["kept"]  # kept once
    assert final["kept"] + final["dropped"] == final["documents"]  # every other document reported dropped once
    assert final["documents"] + final["lines"]["malformed"] == DOCS
    assert sorted(os.listdir(out.parent)) == ["kept.jsonl", "report.json"]  # no temporary file left behind
    # Workers of a killed curation end with it (they would otherwise wait on their queue forever).
    assert wait_for(lambda: not (_pool_processes() - before), timeout=10), sorted(_pool_processes() - before)
    print(f"{kills} kills ({during['output']} while streaming the output, {during['report']} while writing the report)")
