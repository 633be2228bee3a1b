"""The curation pipeline: JSON Lines in, the filter chain in order, kept documents and a report out.

Streaming: lines are read lazily and handled in chunks, so memory holds a few
chunks, never the file (dedup state grows with the documents kept).

Workers (`workers > 1`): the chain splits at its first stateful filter. The
stateless head (parsing, `language_id`, `gopher_quality`, `blocklist`, ...) and
the `prepare` half of every later stateful filter (dedup hashing) run in worker
processes on chunks of lines; the main process takes the chunks back in input
order and runs the rest of the chain: each stateful filter's `admit` (the
decision against everything kept so far) and any stateless filter placed after
a stateful one. Decisions are therefore made in input order whatever the
number of workers, and the output is the same for any `workers`. Put stateless
filters first: those after a dedup filter run in the main process.
"""

from __future__ import annotations

import collections
import concurrent.futures
import itertools
import json
import multiprocessing
import os
import select
import sys
import threading
import time
from pathlib import Path
from typing import Any, Iterable, Iterator

from pathways._errors import PathwaysError, Problem
from pathways._files import pid_alive
from pathways.curate._chain import Chain, load_chain
from pathways.curate._filter import Filter
from pathways.curate._jsonl import BLANK, atomic_write, dumps, iter_lines, parse_line
from pathways.curate._report import MAX_MALFORMED, FilterStats, excerpt

Line = tuple[int, "bytes | str"]


class _Stage:
    """What a worker runs on a chunk: parse, the stateless head, then `prepare` for later stateful filters."""

    def __init__(self, head: list[Filter], preparers: dict[int, Filter]):
        self.head, self.preparers = head, preparers

    def __call__(self, chunk: list[Line]) -> list[tuple]:
        out: list[tuple] = []
        for number, raw in chunk:
            doc, problem = parse_line(raw)
            if doc is None:
                out.append((number, "blank") if problem == BLANK else (number, "malformed", problem))
                continue
            for i, f in enumerate(self.head):
                reason = f.keep(doc)
                if reason is not None:
                    out.append((number, "dropped", i, reason, excerpt(doc["text"])))
                    break
            else:
                out.append((number, "doc", doc, {i: f.prepare(doc) for i, f in self.preparers.items()}))
        return out


def _stage(filters: list[Filter | None], split: int) -> _Stage:
    """The worker's part of a chain split at `split`, its first stateful filter."""
    return _Stage(filters[:split], {i: f for i, f in enumerate(filters) if i >= split and f is not None and f.stateful})


_WORKER_STAGE: _Stage | None = None


def _exit_with(pid: int) -> None:
    """End this worker when process `pid` (the one curating) ends, even by SIGKILL.

    Workers hold both ends of their task queue, so they would otherwise wait on it forever,
    and keep the forkserver alive with them, once the process that fed it is gone.
    """

    def watch() -> None:
        try:
            fd = os.pidfd_open(pid)  # Linux: readable once the process exits
        except (AttributeError, OSError):
            while pid_alive(pid):
                time.sleep(1.0)
        else:
            select.select([fd], [], [])
        os._exit(1)

    threading.Thread(target=watch, name="exit-with-parent", daemon=True).start()


def _init_worker(chain: Chain, split: int, parent: int) -> None:
    """Build and set up, in this worker, the filters it runs (the head, and the stateful ones to `prepare`)."""
    global _WORKER_STAGE
    _exit_with(parent)
    filters = [step.build() if i < split or step.cls.stateful else None for i, step in enumerate(chain.steps)]
    for f in filters:
        if f is not None:
            f.setup(chain.base_dir)
    _WORKER_STAGE = _stage(filters, split)


def _work(chunk: list[Line]) -> tuple[list[tuple], float]:
    """A chunk's results and the CPU seconds this worker spent on them."""
    assert _WORKER_STAGE is not None
    start = time.process_time()
    results = _WORKER_STAGE(chunk)
    return results, time.process_time() - start


def _worker_context() -> multiprocessing.context.BaseContext:
    """Workers fork from a fresh server process that has imported Pathways once (not from this
    process, whose JAX may be running threads); spawn where there is no forkserver."""
    if "forkserver" not in multiprocessing.get_all_start_methods():
        return multiprocessing.get_context("spawn")
    ctx = multiprocessing.get_context("forkserver")
    ctx.set_forkserver_preload([__name__])
    return ctx


def _chunks(lines: Iterable[Line], size: int) -> Iterator[list[Line]]:
    it = iter(lines)
    while chunk := list(itertools.islice(it, size)):
        yield chunk


class Pipeline:
    """Run a chain over `(line number, raw JSON line)` pairs; `run` yields the kept documents.

    Counts accumulate as documents flow (`stats`, `malformed`, ...); `report()`
    summarises them. Malformed lines are counted and listed, or raise a
    `PathwaysError` naming the line with `strict=True`.
    """

    def __init__(self, chain: Chain, *, workers: int = 1, chunk_size: int = 256, strict: bool = False, source: str = "<input>"):
        if workers < 1 or chunk_size < 1:
            raise PathwaysError(f"workers and chunk size must be at least 1, got {workers} and {chunk_size}")
        self.chain, self.workers, self.chunk_size, self.strict, self.source = chain, workers, chunk_size, strict, source
        self.filters = chain.build()  # in the main process: validates setup early; runs the tail (and all with 1 worker)
        self.split = next((i for i, f in enumerate(self.filters) if f.stateful), len(self.filters))
        self.stats = [FilterStats(s.name, s.cls.type_name, s.plugin, s.cls.stateful, s.cfg.model_dump(mode="json")) for s in chain.steps]
        self.lines = self.blank = self.documents = self.kept = self.malformed_count = 0
        self.malformed: list[dict[str, Any]] = []
        self.worker_cpu = 0.0  # CPU seconds the worker processes spent on chunks

    def _results(self, chunks: Iterator[list[Line]]) -> Iterator[list[tuple]]:
        if self.workers == 1:
            yield from map(_stage(self.filters, self.split), chunks)
            return
        pool = concurrent.futures.ProcessPoolExecutor(
            self.workers, mp_context=_worker_context(), initializer=_init_worker, initargs=(self.chain, self.split, os.getpid())
        )
        pending: collections.deque = collections.deque()
        try:
            for chunk in chunks:
                pending.append(pool.submit(_work, chunk))
                if len(pending) >= 2 * self.workers:  # bounded: a few chunks in flight, never the file
                    results, cpu = pending.popleft().result()
                    self.worker_cpu += cpu
                    yield results
            while pending:
                results, cpu = pending.popleft().result()
                self.worker_cpu += cpu
                yield results
        finally:
            pool.shutdown(wait=True, cancel_futures=True)

    def run(self, lines: Iterable[Line]) -> Iterator[tuple[int, dict[str, Any]]]:
        """Yield `(line number, document)` for every kept document, in input order."""
        tail = list(enumerate(self.filters))[self.split :]
        for results in self._results(_chunks(lines, self.chunk_size)):
            for item in results:
                number, kind = item[0], item[1]
                self.lines += 1
                if kind == "blank":
                    self.blank += 1
                    continue
                if kind == "malformed":
                    self._malformed(number, item[2])
                    continue
                self.documents += 1
                if kind == "dropped":
                    _, _, at, reason, text = item
                    for s in self.stats[:at]:
                        s.seen += 1
                        s.kept += 1
                    self.stats[at].drop(number, reason, text)
                    continue
                _, _, doc, prepared = item
                for s in self.stats[: self.split]:
                    s.seen += 1
                    s.kept += 1
                for i, f in tail:
                    reason = f.admit(doc, prepared[i]) if f.stateful else f.keep(doc)
                    if reason is not None:
                        self.stats[i].drop(number, reason, doc["text"])
                        break
                    self.stats[i].seen += 1
                    self.stats[i].kept += 1
                else:
                    self.kept += 1
                    yield number, doc
        for s, f in zip(self.stats, self.filters):
            if f.stateful:
                s.stats = f.finish()

    def _malformed(self, number: int, problem: str) -> None:
        if self.strict:
            raise PathwaysError([Problem("", f"malformed line: {problem} (without --strict it would be skipped)", self.source, number)])
        self.malformed_count += 1
        if len(self.malformed) < MAX_MALFORMED:
            self.malformed.append({"line": number, "error": problem})

    def report(self) -> dict[str, Any]:
        """Counts so far, as the JSON report: per filter `seen = kept + dropped`, each `seen` the previous `kept`."""
        return {
            "documents": self.documents,
            "kept": self.kept,
            "dropped": self.documents - self.kept,
            "lines": {"total": self.lines, "blank": self.blank, "malformed": self.malformed_count},
            "malformed": self.malformed,
            "filters": [s.to_json() for s in self.stats],
            "chain": self.chain.source or "default",
            "workers": self.workers,
        }


def _progress(lines: Iterator[Line], total: int | None) -> Iterator[Line]:
    """Pass lines through while a rich progress bar on stderr follows the bytes read."""
    from rich.console import Console
    from rich.progress import BarColumn, DownloadColumn, Progress, TextColumn, TimeRemainingColumn, TransferSpeedColumn

    columns = (TextColumn("curating"), BarColumn(), DownloadColumn(), TransferSpeedColumn(), TimeRemainingColumn())
    with Progress(*columns, console=Console(file=sys.stderr)) as bar:
        task = bar.add_task("curate", total=total)
        done = 0
        for i, line in enumerate(lines):
            yield line
            done += len(line[1])
            if i % 1000 == 999:
                bar.update(task, completed=done)
        bar.update(task, completed=done)


def _same(a: Path, b: Path) -> bool:
    """Whether two paths name one file: the same after resolving links, or one inode (a hard link)."""
    if a.resolve() == b.resolve():
        return True
    try:
        return os.path.samefile(a, b)
    except OSError:  # one of them does not exist (yet)
        return False


def _path_problems(input: Path, outputs: dict[str, Path]) -> list[Problem]:
    """Outputs that would overwrite the input or each other, or cannot be written at all."""
    problems = []
    for i, (what, path) in enumerate(outputs.items()):
        if _same(path, input):
            problems.append(Problem("", f"the {what} is the input file: writing it would destroy the corpus being read", str(path)))
        elif any(_same(path, other) for other in list(outputs.values())[:i]):
            problems.append(Problem("", f"the {what} is the same file as the output: one would overwrite the other", str(path)))
        elif path.is_dir():
            problems.append(Problem("", f"the {what} is a directory: name a file inside it", str(path)))
        elif not path.parent.is_dir():
            problems.append(Problem("", f"the {what}'s directory {str(path.parent)!r} does not exist", str(path)))
    return problems


def curate_files(
    input: str | Path,
    output: str | Path,
    report: str | Path | None = None,
    *,
    chain: Chain | None = None,
    workers: int = 1,
    strict: bool = False,
    progress: bool = False,
    chunk_size: int = 256,
) -> dict[str, Any]:
    """Filter a JSON Lines file (`.gz` too) into `output`; write and return the report.

    `chain` defaults to `load_chain()` (language_id, gopher_quality, blocklist,
    exact_dedup, minhash_dedup). Output and report are written atomically. An
    input without a single non-blank line is an error.
    """
    input, output = Path(input), Path(output)
    problems = _path_problems(input, {"output": output} | ({"report": Path(report)} if report is not None else {}))
    if problems:
        raise PathwaysError(problems)
    chain = chain if chain is not None else load_chain()
    lines = iter_lines(input)
    head: list[Line] = []  # up to the first non-blank line, read before any worker starts
    for line in lines:
        head.append(line)
        if line[1].strip():
            break
    else:
        raise PathwaysError([Problem("", "the input is empty: no JSON lines to curate", str(input))])
    counted = {"bytes": 0}

    def source() -> Iterator[Line]:
        for line in itertools.chain(head, lines):
            counted["bytes"] += len(line[1])
            yield line

    stream: Iterator[Line] = source()
    if progress:
        stream = _progress(stream, None if input.suffix == ".gz" else input.stat().st_size)
    pipeline = Pipeline(chain, workers=workers, chunk_size=chunk_size, strict=strict, source=str(input))
    start, start_cpu = time.perf_counter(), time.process_time()
    with atomic_write(output) as out:
        for _, doc in pipeline.run(stream):
            out.write(dumps(doc))
            out.write("\n")
    seconds = time.perf_counter() - start
    result = {"input": str(input), "output": str(output), **pipeline.report()}
    result["bytes"] = {"input": counted["bytes"], "output": output.stat().st_size}
    result["timing"] = {
        "seconds": round(seconds, 3),
        "documents_per_second": round(pipeline.documents / seconds, 1) if seconds else None,
        "mb_per_second": round(counted["bytes"] / 1e6 / seconds, 3) if seconds else None,
        "cpu_seconds_main": round(time.process_time() - start_cpu, 3),
        "cpu_seconds_workers": round(pipeline.worker_cpu, 3),
    }
    if report is not None:
        with atomic_write(report) as f:
            json.dump(result, f, indent=2, ensure_ascii=False)
            f.write("\n")
    return result
