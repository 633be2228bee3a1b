"""Image pathway: the SigLIP vision encoder of PaliGemma and Gemma 3 (built-in plugin)."""

from __future__ import annotations

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
from pathways.nn import MLP, Attention, EncoderBlock, LayerNorm, Linear, Stack, patchify


class AttentionPool(eqx.Module):
    """SigLIP's multi-head attention pooling: a learned probe attends to the tokens, then `x + mlp(norm(x))`."""

    probe: Float[Array, "1 D"]
    attn: Attention
    norm: LayerNorm
    mlp: MLP

    def __init__(self, cfg: "SiglipEncoder.Config", *, key: PRNGKeyArray):
        kp, ka, km = jr.split(key, 3)
        self.probe = jr.normal(kp, (1, cfg.width))
        self.attn = Attention(cfg.width, cfg.heads, cfg.heads, cfg.width // cfg.heads, use_bias=True, key=ka)
        self.norm = LayerNorm(cfg.width, eps=cfg.norm_eps)
        self.mlp = MLP(cfg.width, cfg.mlp_dim, tanh_gelu=True, key=km)

    def __call__(self, tokens: Float[Array, "B N D"]) -> Float[Array, "B D"]:
        B, _, D = tokens.shape
        probe = jnp.broadcast_to(self.probe.astype(tokens.dtype)[None], (B, 1, D))
        x = self.attn(probe, context=tokens)  # [B, 1, D]
        return (x + self.mlp(self.norm(x)))[:, 0]


class SiglipEncoder(Component):
    """SigLIP vision tower: patch convolution, learned positions, pre-LayerNorm blocks, final LayerNorm.

    As Hugging Face's `SiglipVisionModel`: LayerNorms with bias, attention with
    biases, a tanh-GELU MLP, no class token. The tokens are the final hidden states
    themselves (width `width`): a projector carries them to a decoder's width.
    With `attention_pool: true` the encoder also has SigLIP's pooling head.

    Inputs:  `images [B, H, W, C] float`, channels last, normalised as the
             checkpoint's image processor does (SigLIP: `(x - 0.5) / 0.5` on [0, 1]
             pixels: `image_mean`, `image_std`); with `normalize: true`, pixels in [0, 1]
             (a dataset's images as they are) that the encoder normalises itself.
    Outputs: `tokens [B, N, width]`, `N = (H/patch) * (W/patch)` patches in
             row-major order; `mask [B, N] bool` (all True); with `attention_pool`,
             `pooled [B, width]`.
    """

    type_name = "siglip_encoder"
    kind = "encoder"
    media = {"images": Media("image")}
    example = {"image_size": [32, 32], "patch": 8, "width": 32, "depth": 1, "heads": 2, "mlp_dim": 64}

    class Config(ComponentConfig):
        image_size: tuple[pydantic.PositiveInt, pydantic.PositiveInt]
        channels: pydantic.PositiveInt = 3
        patch: pydantic.PositiveInt = 14
        width: pydantic.PositiveInt = 1152
        depth: pydantic.PositiveInt = 27
        heads: pydantic.PositiveInt = 16
        mlp_dim: pydantic.PositiveInt = 4304
        norm_eps: pydantic.PositiveFloat = 1e-6
        image_mean: float = pydantic.Field(0.5, description="the checkpoint processor's normalisation: (pixel in [0, 1] - image_mean) / image_std")
        image_std: pydantic.PositiveFloat = 0.5
        normalize: bool = pydantic.Field(False, description="images arrive as pixels in [0, 1] and the encoder normalises them itself")
        attention_pool: bool = pydantic.Field(False, description="add SigLIP's attention-pooling head (output `pooled [B, width]`)")
        remat: bool = False
        scan_layers: bool = pydantic.Field(True, description="lax.scan over layers (fast compile); false unrolls them (faster steps on CPU)")

        @pydantic.model_validator(mode="after")
        def _check(self):
            h, w = self.image_size
            if h % self.patch or w % self.patch:
                raise ValueError(f"image_size {h}x{w} is not divisible by patch {self.patch}")
            if self.width % self.heads:
                raise ValueError(f"width {self.width} is not divisible by heads {self.heads}")
            return self

    patch_embed: Linear
    position: Float[Array, "N D"]
    blocks: Stack
    post_norm: LayerNorm
    pool: AttentionPool | None
    grid: tuple[int, int] = eqx.field(static=True)
    patch: int = eqx.field(static=True)
    normalize: tuple[float, float] | None = eqx.field(static=True)  # (mean, std) applied to [0, 1] inputs

    @classmethod
    def ports(cls, cfg: Config):
        h, w = cfg.image_size
        n = (h // cfg.patch) * (w // cfg.patch)
        what = "pixels in [0, 1]" if cfg.normalize else "normalised as the checkpoint's processor"
        inputs = {"images": Port(("B", h, w, cfg.channels), "float", f"images, channels last, {what}")}
        outputs = {
            "tokens": Port(("B", n, cfg.width), "float", "final hidden states, one per patch"),
            "mask": Port(("B", n), "bool", "valid tokens (all True)"),
        }
        if cfg.attention_pool:
            outputs["pooled"] = Port(("B", cfg.width), "float", "attention-pooled image embedding")
        return inputs, outputs

    def __init__(self, cfg: Config, *, key: PRNGKeyArray):
        kp, kpos, kb, kh = jr.split(key, 4)
        self.grid = (cfg.image_size[0] // cfg.patch, cfg.image_size[1] // cfg.patch)
        self.patch = cfg.patch
        n = self.grid[0] * self.grid[1]
        self.patch_embed = Linear(cfg.patch * cfg.patch * cfg.channels, cfg.width, use_bias=True, key=kp)
        self.position = 0.02 * jr.normal(kpos, (n, cfg.width))
        make = lambda k: EncoderBlock(cfg.width, cfg.heads, cfg.mlp_dim, eps=cfg.norm_eps, tanh_gelu=True, key=k)  # noqa: E731
        self.blocks = Stack(make, cfg.depth, remat=cfg.remat, scan=cfg.scan_layers, key=kb)
        self.post_norm = LayerNorm(cfg.width, eps=cfg.norm_eps)
        self.pool = AttentionPool(cfg, key=kh) if cfg.attention_pool else None
        self.normalize = (cfg.image_mean, cfg.image_std) if cfg.normalize else None

    @classmethod
    def read_media(cls, cfg, port, path):
        h, w = cfg.image_size
        pixels = load_image(path, h, w, cfg.channels)
        return {port: pixels if cfg.normalize else (pixels - cfg.image_mean) / cfg.image_std}

    @classmethod
    def cost(cls, cfg, module, shapes):
        n = (cfg.image_size[0] // cfg.patch) * (cfg.image_size[1] // cfg.patch)
        return patch_encoder_cost(module, n, cfg.depth, cfg.width, cfg.heads)

    def __call__(self, *, images: Float[Array, "B H W C"]) -> dict[str, Array]:
        if self.normalize is not None:
            images = (images - self.normalize[0]) / self.normalize[1]
        x = self.patch_embed(patchify(images, self.patch))  # [B, N, width]
        x = x + self.position.astype(x.dtype)[None]
        tokens = self.post_norm(self.blocks(x))
        out = {"tokens": tokens, "mask": jnp.ones(tokens.shape[:2], dtype=bool)}
        if self.pool is not None:
            out["pooled"] = self.pool(tokens)
        return out


@hookimpl
def pathways_register_components():
    return [SiglipEncoder]
