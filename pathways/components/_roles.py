"""Roles: what a component tells the runtime about itself beyond its ports.

Generation, evaluation and planning find the parts they need (the token
embedding, a decoder that decodes with a cache, the LM head, the inputs that
carry images or audio) by these declarations, never by type name, so a
third-party component takes part exactly as a built-in does.

A component declares roles in `roles` (a frozenset of names below) and media
inputs in `media` (input port -> `Media`). Each role is a small protocol,
checked at registration:

- `token_embedding`: input `tokens [B, T] int`; outputs `embeddings [B, T, D]`
  and `mask [B, T] bool` (real tokens). Generation calls it on one new token
  at a time.
- `lm_head`: input `x [B, T, D]`; output `logits [B, T, V]`. Other inputs (a
  tied embedding matrix) are passed through unchanged.
- `cached_decoder`: input `x [B, T, D]` and output `x`, plus two methods the
  runtime drives, with a cache whose length the runtime chooses:
  `prefill(*, cache_len, **inputs) -> (x, cache)` runs the prompt (inputs as in
  `__call__`) and lays its keys/values out over `cache_len` slots;
  `decode(*, x, cache, valid, index, position) -> (x, cache)` takes one token per
  row (`x [B, 1, D]`), writes it at slot `index [B]` with RoPE/absolute position
  `position [B]`, and attends to the slots `valid [B, cache_len]` marks
  (the runtime keeps `valid`, the new slot included). Decoding with the cache
  must equal running `__call__` on the whole sequence.
- `early_fusion`: inputs `prefix` (variadic) and `text`; outputs `x` and
  `token_mask [B, S] bool`, the text in the last positions.
- `late_fusion`: inputs `x` (the text) and `context`; methods
  `context_keys_values(context)` and `decode(*, x, context_kv, context_mask)`
  for one new token.
"""

from __future__ import annotations

import dataclasses

# role -> (input ports, output ports, methods) the role promises.
ROLES: dict[str, tuple[tuple[str, ...], tuple[str, ...], tuple[str, ...]]] = {
    "token_embedding": (("tokens",), ("embeddings", "mask"), ()),
    "lm_head": (("x",), ("logits",), ()),
    "cached_decoder": (("x",), ("x",), ("prefill", "decode")),
    "early_fusion": (("prefix", "text"), ("x", "token_mask"), ()),
    "late_fusion": (("x", "context"), ("x",), ("context_keys_values", "decode")),
}


@dataclasses.dataclass(frozen=True)
class Media:
    """An input port that carries one modality, such as a batch of images.

    Attributes:
        modality: `image`, `audio`, `video` or a plugin's own name. Evaluation tasks
            give it under this key in each example (`{"image": array}`), and
            `pathways generate --input MODALITY=FILE` reads a file for it.
        mask: the input port, if any, holding which samples of it are real
            (`waveform_mask`); tasks may give it as `<modality>_mask`, else it is all True.
    """

    modality: str
    mask: str | None = None


def role_problem(cls, ins: dict, outs: dict) -> str | None:
    """Why `cls` (with ports `ins`, `outs` of its example config) breaks a role or media declaration."""
    for role in sorted(cls.roles):
        if role not in ROLES:
            return f"role {role!r} is not one of {', '.join(ROLES)}"
        want_in, want_out, methods = ROLES[role]
        missing = [f"input {p!r}" for p in want_in if p not in ins] + [f"output {p!r}" for p in want_out if p not in outs]
        missing += [f"method {m}()" for m in methods if not callable(getattr(cls, m, None))]
        if missing:
            return f"declares role {role!r} but has no {', '.join(missing)}"
    for port, media in dict(cls.media).items():
        if not isinstance(media, Media):
            return f"media[{port!r}] is {media!r}, not a pathways.Media"
        if port not in ins:
            return f"media names input {port!r}, which is not one of its inputs ({', '.join(ins)})"
        if media.mask is not None and media.mask not in ins:
            return f"media[{port!r}] names mask input {media.mask!r}, which is not one of its inputs"
    return None
