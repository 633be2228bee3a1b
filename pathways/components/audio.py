"""Audio pathway: log-mel front end, convolutional subsampling, transformer encoder (built-in plugin)."""

from __future__ import annotations

import equinox as eqx
import jax
import jax.numpy as jnp
import jax.random as jr
import pydantic
from jaxtyping import Array, Bool, Float, PRNGKeyArray

from pathways._markers import hookimpl
from pathways.components._base import Component, ComponentConfig
from pathways.components._cost import Blocks, Cost
from pathways.components._media import load_audio
from pathways.components._ports import Port
from pathways.components._roles import Media
from pathways.nn import Conv1d, EncoderBlock, LayerNorm, Linear, Stack, count_params, key_padding_mask, log_mel_spectrogram, num_frames, sinusoidal_table


class AudioEncoder(Component):
    """Whisper-style audio encoder over raw waveforms.

    Waveform -> log-mel frames `[B, F, num_mels]` (computed in JAX) -> two 1-D
    convolutions (kernel 3, strides 1 and 2, GELU) -> sinusoidal positions ->
    bidirectional blocks -> LayerNorm -> projection to `out_dim`.

    Inputs:  `waveform [B, S] float` at `sample_rate`, and optionally
             `waveform_mask [B, S] bool` (True on real samples, for padded clips).
    Outputs: `tokens [B, N, out_dim]` with `N = (F - 1) // 2 + 1` and `F` the frame
             count, and `mask [B, N] bool` (tokens whose centre frame is real audio).
    """

    type_name = "audio_encoder"
    kind = "encoder"
    media = {"waveform": Media("audio", mask="waveform_mask")}
    example = {"num_samples": 4000, "num_mels": 32, "width": 32, "depth": 1, "heads": 2, "mlp_dim": 64, "out_dim": 32}

    class Config(ComponentConfig):
        num_samples: pydantic.PositiveInt
        sample_rate: pydantic.PositiveInt = 16_000
        frame_length: pydantic.PositiveInt = 400
        hop_length: pydantic.PositiveInt = 160
        n_fft: pydantic.PositiveInt = 512
        num_mels: pydantic.PositiveInt = 80
        fmin: pydantic.NonNegativeFloat = 0.0
        fmax: pydantic.PositiveFloat | None = None
        width: pydantic.PositiveInt = 512
        depth: pydantic.PositiveInt = 6
        heads: pydantic.PositiveInt = 8
        mlp_dim: pydantic.PositiveInt = 2048
        out_dim: pydantic.PositiveInt
        remat: bool = False
        scan_layers: bool = pydantic.Field(True, description="lax.scan over layers (fast compile); false unrolls them (faster steps on CPU)")

        @pydantic.model_validator(mode="after")
        def _check(self):
            if self.num_samples < self.frame_length:
                raise ValueError(f"num_samples {self.num_samples} is shorter than one frame ({self.frame_length})")
            if self.n_fft % 2:
                raise ValueError(f"n_fft must be even, got {self.n_fft}")
            if self.n_fft < self.frame_length:
                raise ValueError(f"n_fft {self.n_fft} is smaller than frame_length {self.frame_length}")
            if self.width % self.heads:
                raise ValueError(f"width {self.width} is not divisible by heads {self.heads}")
            return self

        def num_tokens(self) -> int:
            frames = num_frames(self.num_samples, self.frame_length, self.hop_length)
            return Conv1d.out_length(frames, 3, 2)

    conv1: Conv1d
    conv2: Conv1d
    blocks: Stack
    norm: LayerNorm
    proj: Linear
    frontend: tuple = eqx.field(static=True)

    @classmethod
    def ports(cls, cfg: Config):
        n = cfg.num_tokens()
        inputs = {
            "waveform": Port(("B", cfg.num_samples), "float", f"mono audio at {cfg.sample_rate} Hz"),
            "waveform_mask": Port(("B", cfg.num_samples), "bool", "True on real samples", optional=True),
        }
        outputs = {
            "tokens": Port(("B", n, cfg.out_dim), "float", "audio tokens projected to out_dim"),
            "mask": Port(("B", n), "bool", "tokens over real audio"),
        }
        return inputs, outputs

    def __init__(self, cfg: Config, *, key: PRNGKeyArray):
        k1, k2, kb, kp = jr.split(key, 4)
        self.conv1 = Conv1d(cfg.num_mels, cfg.width, 3, stride=1, key=k1)
        self.conv2 = Conv1d(cfg.width, cfg.width, 3, stride=2, key=k2)
        self.blocks = Stack(lambda k: EncoderBlock(cfg.width, cfg.heads, cfg.mlp_dim, key=k), cfg.depth, remat=cfg.remat, scan=cfg.scan_layers, key=kb)
        self.norm = LayerNorm(cfg.width)
        self.proj = Linear(cfg.width, cfg.out_dim, key=kp)
        self.frontend = (
            ("sample_rate", cfg.sample_rate),
            ("frame_length", cfg.frame_length),
            ("hop_length", cfg.hop_length),
            ("n_fft", cfg.n_fft),
            ("num_mels", cfg.num_mels),
            ("fmin", cfg.fmin),
            ("fmax", cfg.fmax),
        )

    @classmethod
    def read_media(cls, cfg, port, path):
        waveform, mask = load_audio(path, cfg.sample_rate, cfg.num_samples)
        return {port: waveform, "waveform_mask": mask}

    @classmethod
    def cost(cls, cfg, module, shapes):
        frames = num_frames(cfg.num_samples, cfg.frame_length, cfg.hop_length)
        n = cfg.num_tokens()
        conv1 = count_params(module.conv1)  # runs on every frame; the rest on every (2x subsampled) token
        flops = 2 * conv1 * frames + n * (2 * (count_params(module) - conv1) + 4 * cfg.depth * n * cfg.width)
        blocks = (Blocks(cfg.depth, n, cfg.width, cfg.heads, count_params(module.blocks) // cfg.depth),)
        return Cost(tokens=n, forward_flops=float(flops), blocks=blocks)

    def __call__(
        self, *, waveform: Float[Array, "B S"], waveform_mask: Bool[Array, "B S"] | None = None
    ) -> dict[str, Array]:
        fe = dict(self.frontend)
        if waveform_mask is not None:
            # Padded samples would otherwise leak into real tokens through overlapping
            # frames and the convolutions, and from there through attention to every token.
            waveform = jnp.where(waveform_mask, waveform, jnp.zeros((), waveform.dtype))
        mel = log_mel_spectrogram(waveform, **fe)  # [B, F, M]
        x = jax.nn.gelu(self.conv1(mel))  # [B, F, width]
        x = jax.nn.gelu(self.conv2(x))  # [B, N, width]
        B, N, width = x.shape
        x = x + sinusoidal_table(N, width).astype(x.dtype)[None]
        if waveform_mask is None:
            mask = jnp.ones((B, N), dtype=bool)
        else:
            # A token is real when its centre frame (frame 2n) lies within the real samples.
            length = jnp.sum(waveform_mask, axis=-1, keepdims=True)  # [B, 1]
            frame_end = jnp.arange(N) * 2 * fe["hop_length"] + fe["frame_length"]  # [N]
            mask = frame_end[None, :] <= length  # [B, N]
        x = self.norm(self.blocks(x, mask=key_padding_mask(mask, N)))
        return {"tokens": self.proj(x), "mask": mask}


@hookimpl
def pathways_register_components():
    return [AudioEncoder]
