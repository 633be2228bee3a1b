"""Image pathway: a ViT encoder (built-in plugin)."""

from __future__ import annotations

from typing import Literal

import equinox as eqx
import jax.numpy as jnp
import jax.random as jr
import pydantic
from jaxtyping import Array, Float, PRNGKeyArray

from pathways._markers import hookimpl
from pathways.components._base import Component, ComponentConfig
from pathways.components._cost import patch_encoder_cost
from pathways.components._media import load_image
from pathways.components._ports import Port
from pathways.components._roles import Media
from pathways.nn import EncoderBlock, LayerNorm, Linear, Stack, patchify, sincos_2d_table


class ViTEncoder(Component):
    """Vision Transformer: patchify, position embedding, bidirectional blocks, projection.

    Inputs:  `images [B, H, W, C] float` (pixel values, any fixed normalisation).
    Outputs: `tokens [B, N, out_dim]` with `N = (H/patch) * (W/patch)` patches in
    row-major order, and `mask [B, N] bool` (all True).
    """

    type_name = "vit_encoder"
    kind = "encoder"
    media = {"images": Media("image")}
    example = {"image_size": [32, 32], "patch": 8, "width": 32, "depth": 1, "heads": 2, "mlp_dim": 64, "out_dim": 32}

    class Config(ComponentConfig):
        image_size: tuple[pydantic.PositiveInt, pydantic.PositiveInt]
        channels: pydantic.PositiveInt = 3
        patch: pydantic.PositiveInt = 16
        width: pydantic.PositiveInt = 768
        depth: pydantic.PositiveInt = 12
        heads: pydantic.PositiveInt = 12
        mlp_dim: pydantic.PositiveInt = 3072
        out_dim: pydantic.PositiveInt
        position_embedding: Literal["learned", "sincos2d"] = "learned"
        remat: bool = False
        scan_layers: bool = pydantic.Field(True, description="lax.scan over layers (fast compile); false unrolls them (faster steps on CPU)")

        @pydantic.model_validator(mode="after")
        def _check(self):
            h, w = self.image_size
            if h % self.patch or w % self.patch:
                raise ValueError(f"image_size {h}x{w} is not divisible by patch {self.patch}")
            if self.width % self.heads:
                raise ValueError(f"width {self.width} is not divisible by heads {self.heads}")
            if self.position_embedding == "sincos2d" and self.width % 4:
                raise ValueError(f"sincos2d position embedding needs width divisible by 4, got {self.width}")
            return self

    patch_embed: Linear
    position: Float[Array, "N D"] | None
    blocks: Stack
    norm: LayerNorm
    proj: Linear
    grid: tuple[int, int] = eqx.field(static=True)
    patch: int = eqx.field(static=True)

    @classmethod
    def ports(cls, cfg: Config):
        h, w = cfg.image_size
        n = (h // cfg.patch) * (w // cfg.patch)
        inputs = {"images": Port(("B", h, w, cfg.channels), "float", "images, channels last")}
        outputs = {
            "tokens": Port(("B", n, cfg.out_dim), "float", "patch tokens projected to out_dim"),
            "mask": Port(("B", n), "bool", "valid tokens (all True)"),
        }
        return inputs, outputs

    def __init__(self, cfg: Config, *, key: PRNGKeyArray):
        kp, kpos, kb, ko = jr.split(key, 4)
        self.grid = (cfg.image_size[0] // cfg.patch, cfg.image_size[1] // cfg.patch)
        self.patch = cfg.patch
        n = self.grid[0] * self.grid[1]
        self.patch_embed = Linear(cfg.patch * cfg.patch * cfg.channels, cfg.width, use_bias=True, key=kp)
        self.position = 0.02 * jr.normal(kpos, (n, cfg.width)) if cfg.position_embedding == "learned" else None
        self.blocks = Stack(lambda k: EncoderBlock(cfg.width, cfg.heads, cfg.mlp_dim, key=k), cfg.depth, remat=cfg.remat, scan=cfg.scan_layers, key=kb)
        self.norm = LayerNorm(cfg.width)
        self.proj = Linear(cfg.width, cfg.out_dim, key=ko)

    @classmethod
    def read_media(cls, cfg, port, path):
        h, w = cfg.image_size
        return {port: load_image(path, h, w, cfg.channels)}

    @classmethod
    def cost(cls, cfg, module, shapes):
        n = (cfg.image_size[0] // cfg.patch) * (cfg.image_size[1] // cfg.patch)
        return patch_encoder_cost(module, n, cfg.depth, cfg.width, cfg.heads)

    def __call__(self, *, images: Float[Array, "B H W C"]) -> dict[str, Array]:
        x = self.patch_embed(patchify(images, self.patch))  # [B, N, width]
        pos = self.position if self.position is not None else sincos_2d_table(*self.grid, x.shape[-1])
        x = x + pos.astype(x.dtype)[None]
        x = self.norm(self.blocks(x))
        tokens = self.proj(x)  # [B, N, out_dim]
        return {"tokens": tokens, "mask": jnp.ones(tokens.shape[:2], dtype=bool)}


@hookimpl
def pathways_register_components():
    return [ViTEncoder]
