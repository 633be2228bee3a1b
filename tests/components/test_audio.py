"""Log-mel front end against a per-frame NumPy reference, and the AudioEncoder on real-sized audio."""

from __future__ import annotations

import math

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
import pydantic
import pytest

from pathways.components import AudioEncoder
from pathways.nn._audio import hz_to_mel, log_mel_spectrogram, mel_filterbank, mel_to_hz, num_frames

# ----------------------------------------------------------------------------- references


def f64(a) -> np.ndarray:
    return np.asarray(a, dtype=np.float64)


def htk_mel(hz):
    return 2595.0 * np.log10(1.0 + np.asarray(hz, np.float64) / 700.0)


def htk_hz(mel):
    return 700.0 * (10.0 ** (np.asarray(mel, np.float64) / 2595.0) - 1.0)


def np_filterbank(n_fft: int, num_mels: int, sr: float, fmin: float, fmax: float) -> np.ndarray:
    """Triangles between HTK-mel-spaced edges, evaluated at FFT bin frequencies k * sr / n_fft."""
    bins = np.arange(n_fft // 2 + 1) * sr / n_fft
    edges = htk_hz(np.linspace(htk_mel(fmin), htk_mel(fmax), num_mels + 2))
    fb = np.zeros((len(bins), num_mels))
    for m in range(num_mels):
        lo, c, hi = edges[m], edges[m + 1], edges[m + 2]
        for k, f in enumerate(bins):
            if lo <= f <= c:
                fb[k, m] = (f - lo) / (c - lo)
            elif c < f <= hi:
                fb[k, m] = (hi - f) / (hi - c)
    return fb


def np_log_mel(wave, *, sr, frame_length, hop_length, n_fft, num_mels, fmin=0.0, fmax=None, floor=1e-6):
    n = np.arange(frame_length)
    window = 0.5 - 0.5 * np.cos(2.0 * np.pi * n / frame_length)  # periodic Hann
    np.testing.assert_allclose(window, np.hanning(frame_length + 1)[:-1], atol=1e-12)
    fb = np_filterbank(n_fft, num_mels, sr, fmin, sr / 2 if fmax is None else fmax)
    frames = 1 + (len(wave) - frame_length) // hop_length
    out = np.zeros((frames, num_mels))
    for f in range(frames):
        seg = wave[f * hop_length : f * hop_length + frame_length] * window
        spec = np.fft.rfft(seg, n=n_fft)
        out[f] = np.log((spec.real**2 + spec.imag**2) @ fb + floor)
    return out


def sines(num_samples: int, sr: int, freqs, amps, phase=0.0) -> np.ndarray:
    t = np.arange(num_samples) / sr
    return sum(a * np.sin(2 * np.pi * f * t + phase) for f, a in zip(freqs, amps))


def random_component(cls, cfg, *, key, rng):
    abstract = eqx.filter_eval_shape(cls, cfg, key=key)

    def fill(leaf):
        if isinstance(leaf, jax.ShapeDtypeStruct):
            scale = 1.0 / math.sqrt(leaf.shape[-2]) if len(leaf.shape) >= 2 else 0.3
            return jnp.asarray(scale * rng.normal(size=leaf.shape), leaf.dtype)
        return leaf

    return jax.tree.map(fill, abstract, is_leaf=lambda x: isinstance(x, jax.ShapeDtypeStruct))


@eqx.filter_jit
def apply(module, inputs):
    return module(**inputs)


@pytest.fixture
def rng():
    return np.random.default_rng(3)


SMALL = dict(num_samples=16_000, num_mels=16, width=8, depth=1, heads=2, mlp_dim=16, out_dim=4)


def one_second_batch(rng) -> np.ndarray:
    a = sines(16_000, 16_000, [220.0, 440.0, 1_500.0], [0.5, 0.3, 0.1])
    b = sines(16_000, 16_000, [300.0, 3_000.0], [0.4, 0.2], phase=0.3) * np.linspace(0.2, 1.0, 16_000)
    noise = 0.01 * rng.normal(size=(2, 16_000))
    return (np.stack([a, b]) + noise).astype(np.float32)


# ----------------------------------------------------------------------------- front end


def test_mel_scale_is_htk():
    np.testing.assert_allclose(hz_to_mel([0.0, 700.0, 1000.0]), [0.0, 2595.0 * math.log10(2.0), 999.9855], rtol=1e-5)
    hz = np.array([0.0, 123.0, 4000.0, 8000.0])
    np.testing.assert_allclose(mel_to_hz(hz_to_mel(hz)), hz, atol=1e-9)


@pytest.mark.parametrize(
    "n_fft, num_mels, sr, fmin, fmax",
    [(512, 80, 16_000, 0.0, 8_000.0), (256, 20, 8_000, 50.0, 3_500.0)],
)
def test_mel_filterbank_matches_htk_triangles(n_fft, num_mels, sr, fmin, fmax):
    fb = mel_filterbank(n_fft // 2 + 1, num_mels, sr, fmin, fmax)
    assert fb.shape == (n_fft // 2 + 1, num_mels)
    np.testing.assert_allclose(fb, np_filterbank(n_fft, num_mels, sr, fmin, fmax), atol=1e-6)
    assert fb.min() >= 0.0 and fb.max() <= 1.0 + 1e-6


def test_mel_filterbank_matches_torchaudio_if_available():
    torchaudio = pytest.importorskip("torchaudio")
    ref = torchaudio.functional.melscale_fbanks(257, 0.0, 8_000.0, 40, 16_000, norm=None, mel_scale="htk").numpy()
    np.testing.assert_allclose(mel_filterbank(257, 40, 16_000, 0.0, 8_000.0), ref, atol=1e-5)


def test_num_frames():
    assert num_frames(16_000, 400, 160) == 98
    assert num_frames(400, 400, 160) == 1
    assert num_frames(559, 400, 160) == 1
    assert num_frames(560, 400, 160) == 2


def test_log_mel_matches_per_frame_numpy_reference(rng):
    sr, n = 8_000, 2_000
    waves = np.stack(
        [
            sines(n, sr, [200.0, 1_234.0, 3_000.0], [0.6, 0.3, 0.05]) + 0.02 * rng.normal(size=n),
            0.3 * rng.normal(size=n),
        ]
    ).astype(np.float32)
    kw = dict(frame_length=200, hop_length=80, n_fft=256, num_mels=20, fmin=50.0, fmax=3_500.0)
    out = log_mel_spectrogram(jnp.asarray(waves), sample_rate=sr, **kw)
    assert out.shape == (2, 1 + (n - 200) // 80, 20)
    for b in range(2):
        expected = np_log_mel(f64(waves[b]), sr=sr, **kw)
        np.testing.assert_allclose(f64(out[b]), expected, rtol=1e-4, atol=2e-4)


def test_log_mel_default_fmax_is_nyquist_and_floor_applies():
    sr = 8_000
    silence = jnp.zeros((1, 600), jnp.float32)
    out = log_mel_spectrogram(silence, sample_rate=sr, frame_length=200, hop_length=100, n_fft=256, num_mels=10, floor=1e-3)
    np.testing.assert_allclose(f64(out), math.log(1e-3), rtol=1e-6)
    wave = sines(600, sr, [3_900.0], [1.0]).astype(np.float32)  # close to Nyquist
    out = log_mel_spectrogram(jnp.asarray(wave[None]), sample_rate=sr, frame_length=200, hop_length=100, n_fft=256, num_mels=10)
    np.testing.assert_allclose(
        f64(out[0]), np_log_mel(f64(wave), sr=sr, frame_length=200, hop_length=100, n_fft=256, num_mels=10), rtol=1e-4, atol=2e-4
    )


def test_a_pure_tone_peaks_in_the_band_around_its_frequency():
    sr, tone = 16_000, 1_000.0
    wave = sines(4_000, sr, [tone], [0.5]).astype(np.float32)
    out = f64(log_mel_spectrogram(jnp.asarray(wave[None]), sample_rate=sr, frame_length=400, hop_length=160, n_fft=512, num_mels=40))
    centres = htk_hz(np.linspace(htk_mel(0.0), htk_mel(sr / 2), 42))[1:-1]
    nearest = int(np.argmin(np.abs(centres - tone)))
    assert abs(int(np.argmax(out[0].mean(axis=0))) - nearest) <= 1


# ----------------------------------------------------------------------------- encoder


def test_one_second_of_16khz_audio_gives_documented_token_count(key, rng):
    cfg = AudioEncoder.Config(**SMALL)
    frames = 1 + (16_000 - 400) // 160
    assert frames == 98
    n_tokens = (frames - 1) // 2 + 1
    assert n_tokens == 49 == cfg.num_tokens()
    enc = AudioEncoder(cfg, key=key)
    out = apply(enc, {"waveform": jnp.asarray(one_second_batch(rng))})
    assert out["tokens"].shape == (2, 49, 4)
    assert out["tokens"].dtype == jnp.float32
    assert bool(jnp.all(jnp.isfinite(out["tokens"])))
    assert out["mask"].shape == (2, 49) and bool(jnp.all(out["mask"]))
    assert not np.allclose(f64(out["tokens"][0]), f64(out["tokens"][1]))
    inputs, outputs = AudioEncoder.ports(cfg)
    for name, port in outputs.items():
        assert port.match(jax.ShapeDtypeStruct(out[name].shape, out[name].dtype), {}) is None, name
    assert inputs["waveform_mask"].optional


def test_waveform_mask_marks_tokens_whose_centre_frame_is_padding(key, rng):
    enc = random_component(AudioEncoder, AudioEncoder.Config(**SMALL), key=key, rng=rng)
    lengths = [16_000, 9_000]
    wmask = np.arange(16_000)[None, :] < np.array(lengths)[:, None]
    out = apply(enc, {"waveform": jnp.asarray(one_second_batch(rng)), "waveform_mask": jnp.asarray(wmask)})
    mask = np.asarray(out["mask"])
    assert mask.dtype == bool
    assert mask[0].all()
    # token n is centred on frame 2n, which covers samples [320 n, 320 n + 400):
    # inside 9000 samples for n <= 26 (8720 + 400 = 9120 > 9000 for n = 27).
    np.testing.assert_array_equal(mask[1], np.arange(49) <= 26)


def test_real_tokens_do_not_depend_on_padded_samples(key, rng):
    enc = random_component(AudioEncoder, AudioEncoder.Config(**SMALL), key=key, rng=rng)
    wave = one_second_batch(rng)
    wmask = np.arange(16_000)[None, :] < np.array([[16_000], [9_000]])
    noisy = wave.copy()
    noisy[1, 9_000:] = rng.normal(size=7_000)  # garbage where the clip is padded
    silent = wave.copy()
    silent[1, 9_000:] = 0.0
    outs = [apply(enc, {"waveform": jnp.asarray(w), "waveform_mask": jnp.asarray(wmask)}) for w in (wave, noisy, silent)]
    real = np.asarray(outs[0]["mask"])
    assert real[1].sum() == 27
    for other in outs[1:]:
        np.testing.assert_array_equal(np.asarray(other["mask"]), real)
        np.testing.assert_allclose(f64(other["tokens"])[real], f64(outs[0]["tokens"])[real], atol=1e-5)
    # sanity: the padded part of that clip was not silent to begin with, and without the
    # mask the same change does reach the real tokens
    unmasked = [apply(enc, {"waveform": jnp.asarray(w)}) for w in (wave, noisy)]
    assert np.abs(f64(unmasked[0]["tokens"][1, :27]) - f64(unmasked[1]["tokens"][1, :27])).max() > 1e-4


def test_all_true_waveform_mask_equals_no_mask(key, rng):
    enc = random_component(AudioEncoder, AudioEncoder.Config(**SMALL), key=key, rng=rng)
    wave = jnp.asarray(one_second_batch(rng))
    a = apply(enc, {"waveform": wave})
    b = apply(enc, {"waveform": wave, "waveform_mask": jnp.ones((2, 16_000), bool)})
    np.testing.assert_allclose(f64(a["tokens"]), f64(b["tokens"]), atol=1e-6)
    np.testing.assert_array_equal(np.asarray(a["mask"]), np.asarray(b["mask"]))


def _np_encoder_tail(enc: AudioEncoder, x: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """Sinusoidal positions, one pre-LN block with key-padding mask, final LN, projection (NumPy)."""
    N, D = x.shape[1:]
    half = D // 2
    inc = math.log(10_000.0) / (half - 1)
    freq = np.exp(-inc * np.arange(half))
    pos = np.concatenate([np.sin(np.arange(N)[:, None] * freq), np.cos(np.arange(N)[:, None] * freq)], axis=1)
    x = x + pos[None]
    blk = jax.tree.map(lambda a: a[0], enc.blocks.layers)

    def ln(v, norm):
        mu = v.mean(-1, keepdims=True)
        return (v - mu) / np.sqrt(((v - mu) ** 2).mean(-1, keepdims=True) + 1e-6) * f64(norm.weight) + f64(norm.bias)

    def lin(v, layer):
        return v @ f64(layer.weight) + (0.0 if layer.bias is None else f64(layer.bias))

    H = blk.attn.num_heads
    hd = D // H
    out = np.zeros((x.shape[0], N, enc.proj.out_features))
    for b in range(x.shape[0]):
        h_in = ln(x[b], blk.norm1)
        q, k, v = (lin(h_in, p).reshape(N, H, hd) for p in (blk.attn.q_proj, blk.attn.k_proj, blk.attn.v_proj))
        heads = []
        for h in range(H):
            logits = np.where(mask[b][None, :], q[:, h] @ k[:, h].T / math.sqrt(hd), -np.inf)
            p = np.exp(logits - logits.max(-1, keepdims=True))
            heads.append((p / p.sum(-1, keepdims=True)) @ v[:, h])
        y = x[b] + lin(np.concatenate(heads, -1), blk.attn.o_proj)
        hidden = lin(ln(y, blk.norm2), blk.mlp.fc1)
        y = y + lin(0.5 * hidden * (1 + np.vectorize(math.erf)(hidden / math.sqrt(2))), blk.mlp.fc2)
        out[b] = lin(ln(y, enc.norm), enc.proj)
    return out


def test_encoder_matches_reference_with_key_padding(key, rng):
    """Past the convolutions, the encoder is positions + masked bidirectional blocks + LN + proj."""
    enc = random_component(AudioEncoder, AudioEncoder.Config(**SMALL), key=key, rng=rng)
    wave = one_second_batch(rng)
    wmask = np.arange(16_000)[None, :] < np.array([[16_000], [9_000]])
    out = apply(enc, {"waveform": jnp.asarray(wave), "waveform_mask": jnp.asarray(wmask)})

    @eqx.filter_jit
    def features(enc, wave):
        mel = log_mel_spectrogram(wave, **dict(enc.frontend))
        return jax.nn.gelu(enc.conv2(jax.nn.gelu(enc.conv1(mel))))

    x = features(enc, jnp.asarray(np.where(wmask, wave, 0.0).astype(np.float32)))
    expected = _np_encoder_tail(enc, f64(x), np.asarray(out["mask"]))
    np.testing.assert_allclose(f64(out["tokens"]), expected, rtol=1e-4, atol=1e-4)


def test_filter_jit_equals_eager(key, rng):
    enc = random_component(AudioEncoder, AudioEncoder.Config(**SMALL), key=key, rng=rng)
    wave = jnp.asarray(one_second_batch(rng))
    wmask = jnp.asarray(np.arange(16_000)[None, :] < np.array([[16_000], [12_000]]))
    eager = enc(waveform=wave, waveform_mask=wmask)
    jitted = apply(enc, {"waveform": wave, "waveform_mask": wmask})
    np.testing.assert_allclose(f64(jitted["tokens"]), f64(eager["tokens"]), rtol=1e-4, atol=1e-5)
    np.testing.assert_array_equal(np.asarray(jitted["mask"]), np.asarray(eager["mask"]))


@pytest.mark.parametrize(
    "overrides",
    [{"num_samples": 399}, {"n_fft": 256}, {"width": 9, "heads": 2}],
)
def test_config_rejects_inconsistent_values(overrides):
    with pytest.raises(pydantic.ValidationError):
        AudioEncoder.Config(**{**SMALL, **overrides})
