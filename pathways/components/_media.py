"""Reading an image or audio file for a prompt, shaped for the graph's encoder."""

from __future__ import annotations

import wave
from pathlib import Path

import numpy as np

from pathways._errors import PathwaysError, Problem


class MediaError(PathwaysError):
    """An image or audio file that cannot be used as a prompt input."""


def load_image(path: str | Path, height: int, width: int, channels: int) -> np.ndarray:
    """`[height, width, channels]` float32 in [0, 1]. Other sizes are resized (bilinear); RGB/grey converted."""
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(path) as img:
            img = img.convert("L" if channels == 1 else "RGB")
            if img.size != (width, height):
                img = img.resize((width, height), Image.Resampling.BILINEAR)
            arr = np.asarray(img, dtype=np.float32) / 255.0
    except FileNotFoundError:
        raise MediaError([Problem("--image", "no such file", str(path))]) from None
    except (UnidentifiedImageError, OSError) as exc:
        raise MediaError([Problem("--image", f"cannot decode as an image: {exc}", str(path))]) from None
    if channels not in (1, 3):
        raise MediaError([Problem("--image", f"the image encoder takes {channels} channels; only 1 (grey) or 3 (RGB) can be read")])
    return arr.reshape(height, width, channels)


def load_audio(path: str | Path, sample_rate: int, num_samples: int) -> tuple[np.ndarray, np.ndarray]:
    """Mono waveform `[num_samples]` in [-1, 1] and its mask (True on real samples), from a PCM WAV file.

    The file must already be at the encoder's sample rate (no resampling) and
    no longer than `num_samples`; shorter clips are zero-padded.
    """
    try:
        with wave.open(str(path), "rb") as w:
            rate, width, chans, n = w.getframerate(), w.getsampwidth(), w.getnchannels(), w.getnframes()
            raw = w.readframes(n)
    except FileNotFoundError:
        raise MediaError([Problem("--audio", "no such file", str(path))]) from None
    except (wave.Error, EOFError) as exc:
        raise MediaError([Problem("--audio", f"cannot decode as a PCM WAV file: {exc}", str(path))]) from None
    if rate != sample_rate:
        raise MediaError([Problem("--audio", f"sample rate {rate} Hz, the audio encoder takes {sample_rate} Hz: resample it first", str(path))])
    dtype = {1: np.uint8, 2: np.int16, 4: np.int32}.get(width)
    if dtype is None:
        raise MediaError([Problem("--audio", f"{8 * width}-bit samples are not supported (8, 16 or 32-bit PCM)", str(path))])
    x = np.frombuffer(raw, dtype=dtype).astype(np.float32).reshape(-1, chans).mean(axis=1)
    x = (x - 128.0) / 128.0 if dtype == np.uint8 else x / float(np.iinfo(dtype).max)
    if len(x) > num_samples:
        raise MediaError([Problem("--audio", f"{len(x) / rate:.2f} s long, the audio encoder takes at most {num_samples / rate:.2f} s", str(path))])
    mask = np.zeros(num_samples, bool)
    mask[: len(x)] = True
    return np.pad(x, (0, num_samples - len(x))).astype(np.float32), mask
