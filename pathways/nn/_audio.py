"""Log-mel spectrogram front end in JAX (framing, Hann window, power spectrum, mel filterbank, log).

Constants (window, filterbank, frame indices) are NumPy arrays made at trace
time, so they are compiled in as constants and are never parameters.
"""

from __future__ import annotations

import jax.numpy as jnp
import numpy as np
from jaxtyping import Array, Float


def hz_to_mel(hz):
    """HTK mel scale: `2595 * log10(1 + hz / 700)`."""
    return 2595.0 * np.log10(1.0 + np.asarray(hz, dtype=np.float64) / 700.0)


def mel_to_hz(mel):
    return 700.0 * (10.0 ** (np.asarray(mel, dtype=np.float64) / 2595.0) - 1.0)


def mel_filterbank(num_bins: int, num_mels: int, sample_rate: int, fmin: float, fmax: float) -> np.ndarray:
    """Triangular HTK-mel filters `[num_bins, num_mels]` over `num_bins = n_fft // 2 + 1` FFT bins.

    Filters are unnormalised (peak 1), matching torchaudio's `melscale_fbanks(norm=None, mel_scale="htk")`.
    """
    freqs = np.linspace(0.0, sample_rate / 2.0, num_bins)
    edges = mel_to_hz(np.linspace(hz_to_mel(fmin), hz_to_mel(fmax), num_mels + 2))  # [M + 2]
    lower, center, upper = edges[:-2], edges[1:-1], edges[2:]
    up = (freqs[:, None] - lower[None, :]) / (center - lower)[None, :]
    down = (upper[None, :] - freqs[:, None]) / (upper - center)[None, :]
    return np.maximum(0.0, np.minimum(up, down)).astype(np.float32)


def num_frames(num_samples: int, frame_length: int, hop_length: int) -> int:
    """Frames of a waveform framed without padding."""
    return 1 + (num_samples - frame_length) // hop_length


def log_mel_spectrogram(
    waveform: Float[Array, "B S"],
    *,
    sample_rate: int,
    frame_length: int,
    hop_length: int,
    n_fft: int,
    num_mels: int,
    fmin: float = 0.0,
    fmax: float | None = None,
    floor: float = 1e-6,
) -> Float[Array, "B F M"]:
    """`log(mel_filterbank^T |rfft(hann * frame)|^2 + floor)` for each frame of each waveform."""
    B, S = waveform.shape
    F = num_frames(S, frame_length, hop_length)
    index = np.arange(F)[:, None] * hop_length + np.arange(frame_length)[None, :]  # [F, L]
    window = np.hanning(frame_length + 1)[:-1].astype(np.float32)  # periodic Hann
    frames = waveform.astype(jnp.float32)[:, index] * window[None, None, :]  # [B, F, L]
    power = jnp.square(jnp.abs(jnp.fft.rfft(frames, n=n_fft, axis=-1)))  # [B, F, n_fft/2+1]
    fb = mel_filterbank(n_fft // 2 + 1, num_mels, sample_rate, fmin, sample_rate / 2 if fmax is None else fmax)
    mel = (power.reshape(B * F, -1) @ fb).reshape(B, F, num_mels)  # [B, F, M]
    return jnp.log(mel + floor)
