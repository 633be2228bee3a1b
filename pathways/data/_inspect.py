"""Look at registered datasets: open one by name, sizes per split, readable records, image/audio previews."""

from __future__ import annotations

import dataclasses
import typing
import wave
from pathlib import Path
from typing import Any

import numpy as np
import pydantic

from pathways._errors import ConfigError
from pathways.data._dataset import Dataset


def open_dataset(name: str, config: dict[str, Any] | None = None, *, where: tuple[str, str] = ("dataset", ""), base_dir=None) -> Dataset:
    """The registered dataset `name` with `config` (its `Config` fields); a `ConfigError` for an unknown name or bad config.

    `base_dir`: the folder file datasets resolve relative paths against (a config file's).
    `where` places the errors: (place of the name, place of the config), e.g.
    `("data.dataset", "data.config")` for a training config; the default suits the CLI.
    """
    from pathways.plugins import dataset_registry

    config_at = tuple(where[1].split(".")) if where[1] else (name, "config")
    entry, cfg, problems = dataset_registry().configure(name, config, type_at=(where[0],), config_at=config_at, context={"base_dir": base_dir})
    if problems:
        raise ConfigError(problems)
    try:
        return entry.cls(cfg)
    except ConfigError as exc:  # a file dataset's problems sit under its config
        prefix = ".".join(config_at)
        raise ConfigError([p if p.file or not p.where else dataclasses.replace(p, where=f"{prefix}.{p.where}") for p in exc.problems]) from None


def splits(cls: type[Dataset]) -> list[str]:
    """The split names a dataset accepts: its `split` field's Literal values, else its default."""
    field = cls.Config.model_fields["split"]
    if typing.get_origin(field.annotation) is typing.Literal:
        return [str(s) for s in typing.get_args(field.annotation)]
    return [str(field.default)]


def describe(entry) -> dict[str, Any]:
    """Name, plugin, one-line description, fields and records per split (default config) of a registry entry."""
    cls = entry.cls
    sizes: dict[str, int | None] = {}
    error = None
    needs = [n for n, f in cls.Config.model_fields.items() if f.is_required()]  # a file dataset needs its `path`
    if not needs:
        try:  # no single required field, yet no default config either (`hf`: a path or a builder)
            cls.Config()
        except pydantic.ValidationError as exc:
            needs = [e["msg"].removeprefix("Value error, ") for e in exc.errors()]
    for split in splits(cls):
        if needs:
            sizes[split] = None
            continue
        try:
            sizes[split] = len(cls(cls.Config(split=split)))
        except Exception as exc:  # a broken third-party dataset must not hide the others
            sizes[split], error = None, f"{type(exc).__name__}: {exc}"
    doc = (cls.__doc__ or "").strip().splitlines()
    info = {"name": entry.name, "plugin": entry.plugin, "description": doc[0] if doc else "", "fields": dict(cls.fields), "splits": sizes}
    if error:
        info["error"] = error
    if needs:
        info["needs"] = needs
    return info


def summary(value: Any) -> Any:
    """A record value as JSON: arrays become shape, dtype and range; everything else as is."""
    if isinstance(value, np.ndarray):
        out: dict[str, Any] = {"shape": list(value.shape), "dtype": str(value.dtype)}
        if value.size and value.dtype != bool:
            out.update(min=float(value.min()), max=float(value.max()))
        elif value.size:
            out.update(true=int(value.sum()))
        return out
    if isinstance(value, np.generic):
        return value.item()
    return value


# ---------------------------------------------------------------------------
# Previews: image grids, WAV files and waveform/log-mel plots.
# ---------------------------------------------------------------------------


def is_image(value: Any) -> bool:
    return isinstance(value, np.ndarray) and value.ndim == 3 and value.shape[-1] in (1, 3, 4) and value.dtype.kind == "f"


def is_audio(value: Any) -> bool:
    return isinstance(value, np.ndarray) and value.ndim == 1 and value.size >= 1000 and value.dtype.kind == "f"


def write_image_grid(images: list[np.ndarray], path: Path, *, min_size: int = 64) -> Path:
    """Images `[H, W, C]` in [0, 1] side by side in rows of up to 8, upscaled (nearest) to at least `min_size`."""
    from PIL import Image

    scale = max(1, -(-min_size // images[0].shape[0]))
    tiles = [np.repeat(np.repeat(np.clip(im, 0, 1), scale, 0), scale, 1) for im in images]
    tiles = [np.repeat(t, 3, -1) if t.shape[-1] == 1 else t[..., :3] for t in tiles]
    H, W, _ = tiles[0].shape
    cols = min(8, len(tiles))
    rows = -(-len(tiles) // cols)
    grid = np.ones((rows * (H + 2) + 2, cols * (W + 2) + 2, 3), np.float32)  # white 2-pixel gutters
    for i, t in enumerate(tiles):
        r, c = divmod(i, cols)
        grid[2 + r * (H + 2) : 2 + r * (H + 2) + H, 2 + c * (W + 2) : 2 + c * (W + 2) + W] = t
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(np.round(grid * 255).astype(np.uint8)).save(path)
    return path


def write_wav(audio: np.ndarray, path: Path, sample_rate: int) -> Path:
    """Mono 16-bit PCM WAV of a float waveform in [-1, 1]."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with wave.open(str(path), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(sample_rate)
        w.writeframes((np.clip(audio, -1, 1) * 32767).astype("<i2").tobytes())
    return path


def write_audio_plot(clips: list[np.ndarray], titles: list[str], path: Path, sample_rate: int) -> Path:
    """One row per clip: waveform and log-mel spectrogram (80 mels, 25 ms frames, 10 ms hop)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from pathways.nn import log_mel_spectrogram

    fig, axes = plt.subplots(len(clips), 2, figsize=(10, 1.8 * len(clips)), dpi=100, squeeze=False)
    for (wave_ax, mel_ax), clip, title in zip(axes, clips, titles):
        n = max(clip.size, 400)
        padded = np.zeros(n, np.float32)
        padded[: clip.size] = clip
        mel = np.asarray(
            log_mel_spectrogram(padded[None], sample_rate=sample_rate, frame_length=400, hop_length=160, n_fft=512, num_mels=80)
        )[0]  # [F, 80]
        wave_ax.plot(np.arange(clip.size) / sample_rate, clip, linewidth=0.5)
        wave_ax.set_xlim(0, n / sample_rate)
        wave_ax.set_title(title, fontsize=8, loc="left")
        mel_ax.imshow(mel.T, origin="lower", aspect="auto", cmap="magma", extent=(0, n / sample_rate, 0, mel.shape[1]))
        mel_ax.set_title("log-mel", fontsize=8, loc="left")
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path)
    plt.close(fig)
    return path


def write_previews(dataset: Dataset, records: list[dict[str, Any]], out_dir: Path, stem: str) -> list[Path]:
    """Image fields as one PNG grid each; audio fields as a WAV per record plus one PNG of waveforms and log-mels.

    An audio field `X` with a boolean `X_mask` field is cut to its real samples.
    """
    paths: list[Path] = []
    if not records:
        return paths
    rate = int(getattr(dataset, "sample_rate", 16_000))
    for name, value in records[0].items():
        if is_image(value):
            paths.append(write_image_grid([r[name] for r in records], out_dir / f"{stem}-{name}.png"))
        elif is_audio(value):
            clips = []
            for i, r in enumerate(records):
                mask = r.get(f"{name}_mask")
                clip = r[name][: int(np.sum(mask))] if isinstance(mask, np.ndarray) and mask.dtype == bool else r[name]
                clips.append(clip)
                paths.append(write_wav(clip, out_dir / f"{stem}-{name}-{i}.wav", rate))
            titles = [f"#{i}  " + "  ".join(v for v in r.values() if isinstance(v, str) and len(v) <= 40) for i, r in enumerate(records)]
            paths.append(write_audio_plot(clips, titles, out_dir / f"{stem}-{name}.png", rate))
    return paths
