"""Generate pathways/data/files/spoken_numbers.npz: numbers 0-20 spoken by espeak-ng in five languages.

    apt-get install -y espeak-ng && .venv/bin/pip install num2words scipy
    .venv/bin/python scripts/make_spoken_numbers.py

Each number's words come from `num2words` ("vingt et un", "двадцать"), are
synthesised by espeak-ng in several voices (variant, speed, pitch), resampled
from espeak's 22050 Hz to 16 kHz, trimmed of leading/trailing silence and cut
to at most one second (a too-long clip is re-spoken faster first). Clips are
stored left-aligned in `[N, 16000]` as 8-bit mu-law (mu = 255, G.711-style:
half the bytes of int16 at about 38 dB SNR, plenty for formant speech) with their
lengths, compressed. The file is committed so that neither espeak-ng nor num2words
is needed at run time; `pathways.data.spoken_numbers` decodes it.
"""

from __future__ import annotations

import argparse
import io
import subprocess
import wave
from pathlib import Path

import numpy as np
from num2words import num2words
from scipy.signal import resample_poly

OUT = Path(__file__).resolve().parents[1] / "pathways/data/files/spoken_numbers.npz"
RATE, SECONDS = 16_000, 1.0
NUMBERS = range(21)
# language code -> espeak-ng voice; ru is the non-Latin script (Cyrillic).
LANGUAGES = {"en": "en-us", "fr": "fr", "de": "de", "es": "es", "ru": "ru"}
# (espeak variant, words per minute, pitch 0-99): three speakers per clip.
VOICES = (("m1", 150, 40), ("f2", 165, 60), ("m3", 180, 50))


def speak(text: str, voice: str, speed: int, pitch: int) -> np.ndarray:
    """espeak-ng's waveform of `text` as float32 at 16 kHz."""
    wav = subprocess.run(
        ["espeak-ng", "-v", voice, "-s", str(speed), "-p", str(pitch), "--stdout", text], check=True, capture_output=True
    ).stdout
    with wave.open(io.BytesIO(wav)) as w:
        rate = w.getframerate()
        x = np.frombuffer(w.readframes(w.getnframes()), dtype="<i2").astype(np.float32) / 32768.0
    if rate != RATE:
        g = np.gcd(rate, RATE)
        x = resample_poly(x, RATE // g, rate // g).astype(np.float32)
    return x


def trim(x: np.ndarray, threshold: float = 0.01, margin: int = 160) -> np.ndarray:
    """Drop leading and trailing samples quieter than `threshold` (keeping `margin` samples either side)."""
    loud = np.flatnonzero(np.abs(x) > threshold)
    if loud.size == 0:
        return x[:0]
    return x[max(loud[0] - margin, 0) : loud[-1] + margin + 1]


def mu_law_encode(x: np.ndarray, mu: int = 255) -> np.ndarray:
    """[-1, 1] float -> uint8 codes (decoded by `pathways.data.spoken_numbers.mu_law_decode`)."""
    y = np.sign(x) * np.log1p(mu * np.abs(x)) / np.log1p(mu)
    return np.round((y + 1) / 2 * mu).astype(np.uint8)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=OUT)
    args = parser.parse_args()
    length = int(RATE * SECONDS)
    clips, lengths, meta = [], [], {"language": [], "number": [], "text": [], "voice": []}
    for lang, voice in LANGUAGES.items():
        for n in NUMBERS:
            text = num2words(n, lang=lang)
            for variant, speed, pitch in VOICES:
                for faster in range(0, 120, 30):  # re-speak faster until it fits one second
                    x = trim(speak(text, f"{voice}+{variant}", speed + faster, pitch))
                    if len(x) <= length:
                        break
                x = x[:length]
                x = x / max(np.abs(x).max(), 1e-6) * 0.9  # peak-normalise: voices differ in loudness
                clip = np.zeros(length, np.float32)
                clip[: len(x)] = x
                clip = mu_law_encode(clip)
                clips.append(clip)
                lengths.append(len(x))
                for k, v in (("language", lang), ("number", n), ("text", text), ("voice", f"{variant}-s{speed + faster}-p{pitch}")):
                    meta[k].append(v)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    np.savez_compressed(
        args.out,
        audio=np.stack(clips),  # [N, 16000] uint8 mu-law, left-aligned, padded with silence
        length=np.asarray(lengths, np.int32),
        language=np.asarray(meta["language"]),
        number=np.asarray(meta["number"], np.int32),
        text=np.asarray(meta["text"]),
        voice=np.asarray(meta["voice"]),
        sample_rate=np.int32(RATE),
    )
    print(f"{args.out}: {len(clips)} clips, {args.out.stat().st_size / 1e6:.2f} MB, mean {np.mean(lengths) / RATE:.2f} s")


if __name__ == "__main__":
    main()
