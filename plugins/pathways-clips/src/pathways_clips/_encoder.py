"""`clip_encoder`: short video clips `[B, F, H, W, C]` to one token per frame."""

from __future__ import annotations

from pathlib import Path

import jax
import jax.numpy as jnp
import jax.random as jr
import numpy as np
import pydantic
from jaxtyping import Array, Float, PRNGKeyArray

from pathways import Component, ComponentConfig, Cost, Media, MediaError, Port, Problem
from pathways.components import load_image
from pathways.nn import Conv1d, LayerNorm, Linear, count_params


class ClipEncoder(Component):
    """Each frame flattened and projected, learned frame positions, then a residual
    temporal 1-D convolution across frames (GELU), LayerNorm and a projection.

    Inputs:  `frames [B, F, H, W, C] float` in [0, 1] (the `video` modality).
    Outputs: `tokens [B, F, out_dim]` (one per frame) and `mask [B, F] bool` (all True).
    """

    type_name = "clip_encoder"
    kind = "encoder"
    media = {"frames": Media("video")}
    example = {"num_frames": 3, "frame_size": [8, 8], "channels": 1, "width": 32, "out_dim": 32}

    class Config(ComponentConfig):
        num_frames: pydantic.PositiveInt
        frame_size: tuple[pydantic.PositiveInt, pydantic.PositiveInt]
        channels: pydantic.PositiveInt = 3
        width: pydantic.PositiveInt
        kernel: pydantic.PositiveInt = 3
        out_dim: pydantic.PositiveInt

        @pydantic.model_validator(mode="after")
        def _check(self):
            if self.kernel % 2 == 0:
                raise ValueError(f"kernel {self.kernel} must be odd, so that every frame keeps its token")
            return self

    frame_proj: Linear
    position: Float[Array, "F W"]
    temporal: Conv1d
    norm: LayerNorm
    proj: Linear

    @classmethod
    def ports(cls, cfg: Config):
        h, w = cfg.frame_size
        inputs = {"frames": Port(("B", cfg.num_frames, h, w, cfg.channels), "float", "video frames, channels last")}
        outputs = {
            "tokens": Port(("B", cfg.num_frames, cfg.out_dim), "float", "one token per frame"),
            "mask": Port(("B", cfg.num_frames), "bool", "valid tokens (all True)"),
        }
        return inputs, outputs

    def __init__(self, cfg: Config, *, key: PRNGKeyArray):
        kf, kp, kt, ko = jr.split(key, 4)
        h, w = cfg.frame_size
        self.frame_proj = Linear(h * w * cfg.channels, cfg.width, use_bias=True, key=kf)
        self.position = 0.02 * jr.normal(kp, (cfg.num_frames, cfg.width))
        self.temporal = Conv1d(cfg.width, cfg.width, cfg.kernel, key=kt)
        self.norm = LayerNorm(cfg.width)
        self.proj = Linear(cfg.width, cfg.out_dim, key=ko)

    def __call__(self, *, frames: Float[Array, "B F H W C"]) -> dict[str, Array]:
        B, F = frames.shape[:2]
        x = self.frame_proj(frames.reshape(B * F, -1)).reshape(B, F, -1)  # [B, F, width]
        x = x + self.position.astype(x.dtype)[None]
        x = self.norm(x + jax.nn.gelu(self.temporal(x)))
        tokens = self.proj(x.reshape(B * F, -1)).reshape(B, F, -1)  # [B, F, out_dim]
        return {"tokens": tokens, "mask": jnp.ones((B, F), bool)}

    @classmethod
    def read_media(cls, cfg: Config, port: str, path: str | Path) -> dict[str, np.ndarray]:
        """A clip from a `.npy` array `[F, H, W, C]`, or a folder of frame images (sorted by name, resized)."""
        path = Path(path)
        h, w = cfg.frame_size
        if path.is_dir():
            files = sorted(p for p in path.iterdir() if p.suffix.lower() in (".png", ".jpg", ".jpeg", ".bmp"))
            if len(files) != cfg.num_frames:
                raise MediaError([Problem("--input video", f"{len(files)} frame images, the clip encoder takes {cfg.num_frames}", str(path))])
            return {port: np.stack([load_image(f, h, w, cfg.channels) for f in files])}
        clip = super().read_media(cfg, port, path)[port]
        want = (cfg.num_frames, h, w, cfg.channels)
        if clip.shape != want:
            raise MediaError([Problem("--input video", f"array of shape {list(clip.shape)}, the clip encoder takes {list(want)}", str(path))])
        return {port: clip.astype(np.float32)}

    @classmethod
    def cost(cls, cfg: Config, module: "ClipEncoder", shapes) -> Cost:
        dense = count_params(module) - module.position.size - count_params(module.temporal)
        flops = 2 * cfg.num_frames * (dense + count_params(module.temporal))
        return Cost(tokens=cfg.num_frames, forward_flops=float(flops), embedding_params=module.position.size)
