"""Layers shared by the built-in components. Dense layers act on `[N, D]` operands."""

from pathways.nn._attention import Attention, causal_mask, dot_product_attention, sliding_window
from pathways.nn._audio import log_mel_spectrogram, num_frames
from pathways.nn._blocks import EncoderBlock, GatedCrossAttention, key_padding_mask
from pathways.nn._conv import Conv1d
from pathways.nn._linear import Linear, count_params, patchify
from pathways.nn._mlp import MLP, GeGLU
from pathways.nn._norm import LayerNorm, RMSNorm
from pathways.nn._rope import apply_rope, sincos_2d_table, sinusoidal_table
from pathways.nn._stack import Stack

__all__ = [
    "Attention",
    "Conv1d",
    "EncoderBlock",
    "GatedCrossAttention",
    "GeGLU",
    "LayerNorm",
    "Linear",
    "MLP",
    "RMSNorm",
    "Stack",
    "apply_rope",
    "causal_mask",
    "count_params",
    "dot_product_attention",
    "key_padding_mask",
    "log_mel_spectrogram",
    "num_frames",
    "patchify",
    "sincos_2d_table",
    "sinusoidal_table",
    "sliding_window",
]
