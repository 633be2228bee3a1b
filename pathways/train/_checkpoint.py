"""Checkpoints: safetensors (no pickle), written atomically, loadable into a changed graph.

A checkpoint is a directory:

    model.safetensors       parameters, flat keys `<pathway>.<parameter path>` (adapter runs: adapters only)
    optimizer.safetensors   optimizer state of the trainable parameters (absent where nothing is trained)
    state.json              step, seed, data position, trainable pathways, config hash, tokenizer, base checkpoint
    config.yaml             the fully resolved config
    tokenizer.model         the SentencePiece model the run used (absent for the byte tokenizer)

It is written under a temporary name and renamed into place, so a crash during
a save leaves the previous checkpoint intact.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import re
import shutil
import struct
import sys
from pathlib import Path
from typing import Any

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
import yaml
from safetensors import SafetensorError, safe_open
from safetensors.numpy import load_file

from pathways._errors import PathwaysError, Problem
from pathways.graph import param_key
from pathways.train._state import CheckpointState

STEP_DIR = re.compile(r"^step-(\d{8})$")


class CheckpointError(PathwaysError):
    """A checkpoint is missing, truncated, or does not fit the graph."""


def flatten(tree) -> dict[str, np.ndarray]:
    """Array leaves of `tree` by dotted path (`decoder.blocks.layers.attn.q_proj.weight`)."""
    from pathways.parallel import to_host  # gathers shards held by other processes

    leaves = jax.tree_util.tree_flatten_with_path(eqx.filter(tree, eqx.is_array))[0]
    return {param_key(path): to_host(leaf) for path, leaf in leaves}


def unflatten(like, flat: dict[str, np.ndarray], *, source: str | None = None):
    """`like` with its array leaves replaced from `flat` (keys as `flatten` makes them).

    Raises `CheckpointError` (naming `source`, the file `flat` came from) when an array is
    missing or has another shape: `flat` was written for another tree.
    """
    params, static = eqx.partition(like, eqx.is_array)
    paths, treedef = jax.tree_util.tree_flatten_with_path(params)
    missing = [param_key(p) for p, _ in paths if param_key(p) not in flat]
    wrong = [
        f"{param_key(p)!r} is {list(flat[param_key(p)].shape)}, needs {list(leaf.shape)}"
        for p, leaf in paths
        if param_key(p) in flat and flat[param_key(p)].shape != leaf.shape
    ]
    if missing or wrong:
        what = f"{len(missing)} arrays missing (first: {missing[0]!r})" if missing else f"shape mismatch: {wrong[0]}"
        raise CheckpointError([Problem("", f"does not fit this run: {what}; was it written with other trainable pathways or another config?", source)])
    leaves = [jnp.asarray(flat[param_key(p)], dtype=leaf.dtype) for p, leaf in paths]
    return eqx.combine(jax.tree_util.tree_unflatten(treedef, leaves), static)


def model_params(model) -> dict[str, np.ndarray]:
    return flatten(model.pathways)


# numpy dtype name -> safetensors dtype code
SAFETENSORS_DTYPES = {
    "float64": "F64", "float32": "F32", "float16": "F16", "bfloat16": "BF16", "int64": "I64", "int32": "I32",
    "int16": "I16", "int8": "I8", "uint64": "U64", "uint32": "U32", "uint16": "U16", "uint8": "U8", "bool": "BOOL",
}


def save_tensors(tensors: dict[str, Any], path: str | Path, metadata: dict[str, str] | None = None) -> None:
    """Write a safetensors file tensor by tensor, never holding a second copy of the whole dict.

    (`safetensors.numpy.save_file` first turns every array into bytes: twice the
    checkpoint in memory.) The layout is the format's: an 8-byte little-endian header
    length, the JSON header padded to 8 bytes, then each tensor's bytes in order.
    """
    arrays = {name: np.asarray(tensors[name]) for name in sorted(tensors)}
    arrays = {name: a.astype(a.dtype.newbyteorder("<"), copy=False) for name, a in arrays.items()}  # safetensors is little-endian
    header: dict[str, Any] = {}
    offset = 0
    for name, a in arrays.items():
        if a.dtype.name not in SAFETENSORS_DTYPES:
            raise TypeError(f"{name}: dtype {a.dtype} has no safetensors code")
        header[name] = {"dtype": SAFETENSORS_DTYPES[a.dtype.name], "shape": list(a.shape), "data_offsets": [offset, offset + a.nbytes]}
        offset += a.nbytes
    if metadata:
        header["__metadata__"] = metadata
    raw = json.dumps(header, separators=(",", ":")).encode()
    raw += b" " * (-len(raw) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(raw)))
        f.write(raw)
        for a in arrays.values():
            f.write(np.ascontiguousarray(a).reshape(-1).view(np.uint8).data)


def _write_dir(tmp: Path, files: dict[str, Any]) -> None:
    tmp.mkdir(parents=True)
    for name, content in files.items():
        path = tmp / name
        if name.endswith(".safetensors"):
            save_tensors(content, path)
        elif isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(content)
        with open(path, "rb") as f:
            os.fsync(f.fileno())


def save(
    ckpt_root: Path,
    step: int,
    *,
    params: dict[str, np.ndarray],
    opt_state: dict[str, np.ndarray] | None,
    state: CheckpointState,
    config: dict[str, Any],
    keep: int,
    extra: dict[str, bytes] | None = None,
) -> Path:
    """Write `ckpt_root/step-XXXXXXXX` atomically, then drop all but the newest `keep`."""
    recover(ckpt_root)
    final = ckpt_root / f"step-{step:08d}"
    if not (final.exists() and _is_complete(final)):  # a step saved twice (Ctrl-C right after a save) holds the same
        write(final, params=params, opt_state=opt_state, state=dataclasses.replace(state, step=step), config=config, extra=extra)
    for stale in list_checkpoints(ckpt_root)[:-keep]:
        _remove(stale)
    return final


def _remove(path: Path) -> None:
    """Delete a checkpoint so that a crash part-way never leaves a half-deleted `step-*` behind."""
    doomed = path.parent / f".del-{path.name}-{os.getpid()}"
    path.rename(doomed)
    shutil.rmtree(doomed)


def recover(ckpt_root: Path) -> None:
    """Tidy what a crash during a save leaves under `ckpt_root`.

    `.tmp-*` (a save that never finished) and `.del-*` (a deletion that never
    finished) are removed; `.old-step-X` (a re-save killed between its two
    renames) is put back as `step-X` when no `step-X` exists.
    """
    if not ckpt_root.is_dir():
        return
    for p in sorted(ckpt_root.iterdir()):
        if p.name.startswith((".tmp-", ".del-")):
            shutil.rmtree(p, ignore_errors=True)
        elif p.name.startswith(".old-"):
            name = p.name[len(".old-") :].rsplit("-", 1)[0]
            if STEP_DIR.match(name) and not (ckpt_root / name).exists():
                p.rename(ckpt_root / name)
            else:
                shutil.rmtree(p, ignore_errors=True)


def write(final: Path, *, params, opt_state, state: CheckpointState, config, extra: dict[str, bytes] | None = None) -> Path:
    """Write one checkpoint directory under a temporary name, then rename it into place."""
    final.parent.mkdir(parents=True, exist_ok=True)
    tmp = final.parent / f".tmp-{final.name}-{os.getpid()}"
    if tmp.exists():
        shutil.rmtree(tmp)
    files: dict[str, Any] = {
        "model.safetensors": params,
        "state.json": dataclasses.replace(state, optimizer_state=bool(opt_state)).to_json(),
        "config.yaml": yaml.safe_dump(config, sort_keys=False),
    }
    if opt_state:
        files["optimizer.safetensors"] = opt_state
    files.update(extra or {})
    _write_dir(tmp, files)
    if final.exists():  # re-saving the same step (e.g. Ctrl-C right after a save)
        old = final.parent / f".old-{final.name}-{os.getpid()}"
        final.rename(old)
        tmp.rename(final)
        shutil.rmtree(old)
    else:
        tmp.rename(final)
    return final


def list_checkpoints(ckpt_root: Path) -> list[Path]:
    """Complete checkpoints under `ckpt_root`, oldest first (temporary directories are ignored)."""
    if not ckpt_root.is_dir():
        return []
    return sorted(p for p in ckpt_root.iterdir() if p.is_dir() and STEP_DIR.match(p.name))


def content_hash(path: str | Path) -> str:
    """sha256 of a checkpoint's weights (`model.safetensors`): what an adapter run records of its base."""
    digest = hashlib.sha256()
    with open(Path(path) / "model.safetensors", "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def base_of(c: "Checkpoint") -> Path:
    """The base checkpoint an adapter checkpoint adapts, checked to be the very weights it was trained on.

    Runs record the base's absolute path and the sha256 of its weights; older
    ones recorded a path relative to the working directory and no hash.
    """
    where = str(c.path / "state.json")
    if not c.state.base_checkpoint:
        raise CheckpointError([Problem("base_checkpoint", "this adapter checkpoint records no base checkpoint, so its adapters have nothing to adapt", where)])
    base = Path(c.state.base_checkpoint)
    if not (base / "model.safetensors").is_file():
        raise CheckpointError([Problem("base_checkpoint", f"the base checkpoint {base} of this adapter checkpoint is gone (moved or deleted)", where)])
    expected = c.state.base_sha256
    if expected and content_hash(base) != expected:
        raise CheckpointError(
            [Problem("base_checkpoint", f"{base} is not the base this adapter checkpoint was trained on: its weights changed (sha256 {content_hash(base)[:12]}, expected {expected[:12]})", where)]
        )
    return base


def problem_with(path: Path) -> str | None:
    """Why the checkpoint directory `path` cannot be resumed from (None when it is whole).

    Reads only metadata and safetensors headers (a truncated file is caught by its
    header, which records every tensor's extent), never the tensors themselves.
    """
    for name in ("state.json", "config.yaml", "model.safetensors"):
        if not (path / name).is_file():
            return f"{name} is missing"
    try:
        state = json.loads((path / "state.json").read_text())
        yaml.safe_load((path / "config.yaml").read_text())
    except (json.JSONDecodeError, yaml.YAMLError, UnicodeDecodeError) as exc:
        return f"unreadable metadata: {str(exc).splitlines()[0]}"
    if not isinstance(state, dict) or not isinstance(state.get("step"), int):
        return "state.json has no step"
    if state.get("optimizer_state") and not (path / "optimizer.safetensors").is_file():
        return "optimizer.safetensors is missing"
    for name in ("model.safetensors", "optimizer.safetensors"):
        if (path / name).exists():
            try:
                with safe_open(str(path / name), "np"):
                    pass
            except (SafetensorError, OSError) as exc:
                return f"{name} is unreadable (truncated?): {exc}"
    return None


def _is_complete(path: Path) -> bool:
    return problem_with(path) is None


def latest_good(ckpt_root: Path) -> tuple[Path | None, list[str]]:
    """The newest checkpoint under `ckpt_root` that is whole, and one note per newer one skipped."""
    notes = []
    for path in reversed(list_checkpoints(ckpt_root)):
        why = problem_with(path)
        if why is None:
            return path, notes
        notes.append(f"skipping damaged checkpoint {path}: {why}")
    return None, notes


def resolve_checkpoint(path: str | Path) -> Path:
    """A checkpoint directory, or the newest one of a run directory."""
    path = Path(path)
    if (path / "model.safetensors").exists() or (path / "state.json").exists():
        return path
    root = path / "checkpoints" if list_checkpoints(path / "checkpoints") else path
    if not list_checkpoints(root):
        raise CheckpointError([Problem("", "no checkpoint here (expected model.safetensors, or a run directory with checkpoints/)", str(path))])
    good, skipped = latest_good(root)
    if good is None:
        raise CheckpointError([Problem("", note.removeprefix("skipping "), None) for note in skipped])
    for note in skipped:
        print(f"note: {note}", file=sys.stderr)
    return good


@dataclasses.dataclass
class Checkpoint:
    path: Path
    params: dict[str, np.ndarray]
    state: CheckpointState
    config: dict[str, Any]

    def optimizer_state(self) -> dict[str, np.ndarray]:
        """The optimizer state arrays; a missing file is an error (every run that trains something writes one)."""
        return _load_tensors(self.path / "optimizer.safetensors")


def _load_tensors(file: Path) -> dict[str, np.ndarray]:
    if not file.exists():
        raise CheckpointError([Problem("", "missing file", str(file))])
    try:
        return load_file(str(file))
    except (SafetensorError, OSError, ValueError) as exc:
        raise CheckpointError([Problem("", f"cannot read (truncated or not safetensors): {exc}", str(file))]) from None


def load(path: str | Path) -> Checkpoint:
    """Read a checkpoint directory (or the newest checkpoint of a run directory)."""
    path = resolve_checkpoint(path)
    params = _load_tensors(path / "model.safetensors")
    try:
        state = json.loads((path / "state.json").read_text())
        config = yaml.safe_load((path / "config.yaml").read_text())
    except FileNotFoundError as exc:
        raise CheckpointError([Problem("", "missing file", exc.filename)]) from None
    except (json.JSONDecodeError, yaml.YAMLError) as exc:
        raise CheckpointError([Problem("", f"unreadable checkpoint metadata: {exc}", str(path))]) from None
    if not isinstance(state, dict) or not isinstance(state.get("step"), int):
        raise CheckpointError([Problem("", "state.json has no step", str(path / "state.json"))])
    return Checkpoint(path, params, CheckpointState.from_dict(state), config)


def load_into(model, params: dict[str, np.ndarray], trainable: set[str]) -> tuple[Any, list[str]]:
    """Load checkpoint `params` into `model`, whose graph may differ from the checkpoint's.

    Pathways in both load (every parameter must be present with the same shape).
    A pathway with parameters that the checkpoint lacks keeps its fresh
    initialisation only if it is being trained; otherwise that is an error.
    Returns the model and notes for the user (fresh and unused pathways).
    """
    current = model_params(model)
    by_pathway: dict[str, dict[str, np.ndarray]] = {}
    for key, value in current.items():
        by_pathway.setdefault(key.split(".", 1)[0], {})[key] = value
    in_ckpt = {k.split(".", 1)[0] for k in params}
    problems, notes, merged = [], [], dict(current)
    for name, own in by_pathway.items():
        if name not in in_ckpt:
            if name in trainable:
                notes.append(f"pathway {name!r} is not in the checkpoint: freshly initialised (it is being trained)")
            else:
                problems.append(Problem(f"pathways.{name}", "not in the checkpoint and frozen: its weights would stay random (train it, or load a checkpoint that has it)"))
            continue
        for key, value in own.items():
            if key not in params:
                problems.append(Problem(f"pathways.{name}", f"parameter {key.split('.', 1)[1]!r} is missing from the checkpoint"))
            elif params[key].shape != value.shape:
                problems.append(
                    Problem(f"pathways.{name}", f"parameter {key.split('.', 1)[1]!r}: checkpoint has shape {list(params[key].shape)}, the graph needs {list(value.shape)}")
                )
            else:
                merged[key] = params[key]
    unused = sorted(in_ckpt - set(by_pathway) - set(model.pathways))
    if unused:
        notes.append(f"checkpoint pathways not in this graph (not loaded): {', '.join(unused)}")
    if problems:
        raise CheckpointError(problems)
    return eqx.tree_at(lambda m: m.pathways, model, unflatten(model.pathways, merged)), notes
