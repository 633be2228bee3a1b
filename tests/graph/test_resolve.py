"""Validation names every culprit: types, fields, edges, ports, cycles, shapes and dtypes."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

import pathways
from pathways import ConfigError

HEADER = """\
dims: {B: 2, T: 8}
batch:
  tokens: {shape: [B, T], dtype: int32}
  image: {shape: [B, 16, 16, 3], dtype: float32}
pathways:
"""

TEXT = """\
  text:
    type: token_embedding
    config: {vocab_size: 64, width: 16}
    inputs: {tokens: batch.tokens}
"""

IMAGE = """\
  image:
    type: vit_encoder
    config: {image_size: [16, 16], patch: 8, width: 8, depth: 1, heads: 2, mlp_dim: 16, out_dim: 16}
    inputs: {images: batch.image}
"""

DECODER = """\
  decoder:
    type: gemma_decoder
    config: {width: 16, depth: 1, heads: 2, head_dim: 8, mlp_dim: 32}
    inputs: {x: text.embeddings}
"""


def errors(write_yaml, text: str) -> list[str]:
    path = write_yaml(text)
    with pytest.raises(ConfigError) as err:
        pathways.validate(path)
    return [str(p).split(": ", 1)[1] for p in err.value.problems]  # drop "file:line:col"


def test_valid_graph_resolves_in_topological_order(write_yaml):
    # Written out of order on purpose.
    graph = pathways.validate(write_yaml(HEADER + DECODER + TEXT))
    assert list(graph.nodes) == ["text", "decoder"]
    assert graph.values["decoder.x"].shape == (2, 8, 16)
    assert graph.outputs == ("decoder.x",)


def test_unknown_type_suggests_closest_and_lists_registered(write_yaml):
    (msg,) = errors(write_yaml, HEADER + TEXT.replace("token_embedding", "token_embeding"))
    assert msg.startswith("pathways.text.type: unknown component type 'token_embeding'; did you mean 'token_embedding'?")
    assert "registered: " in msg and "vit_encoder" in msg and "gemma_decoder" in msg


def test_component_config_errors_are_placed(write_yaml):
    msgs = errors(write_yaml, HEADER + TEXT.replace("width: 16", "width: -3, colour: red"))
    assert "pathways.text.config.width: Input should be greater than 0 (got -3)" in msgs
    assert any(m.startswith("pathways.text.config.colour: unknown field 'colour'") for m in msgs)


def test_component_cross_field_check(write_yaml):
    (msg,) = errors(write_yaml, HEADER + IMAGE.replace("patch: 8", "patch: 5"))
    assert msg == "pathways.image.config: image_size 16x16 is not divisible by patch 5"


def test_edge_to_missing_node_and_port(write_yaml):
    msgs = errors(write_yaml, HEADER + TEXT + DECODER.replace("text.embeddings", "txt.embeddings"))
    assert msgs == ["pathways.decoder.inputs.x: 'txt.embeddings' names no pathway 'txt' (pathways: text, decoder)"]
    msgs = errors(write_yaml, HEADER + TEXT + DECODER.replace("text.embeddings", "text.embedding"))
    assert msgs == [
        "pathways.decoder.inputs.x: 'text.embedding': pathway 'text' (token_embedding) has no output 'embedding' "
        "(outputs: embeddings, mask, table)"
    ]


def test_unknown_batch_field_and_input_port(write_yaml):
    msgs = errors(write_yaml, HEADER + TEXT.replace("batch.tokens", "batch.token").replace("{tokens:", "{tokens:"))
    assert msgs == ["pathways.text.inputs.tokens: 'batch.token': no batch field 'token' (fields: tokens, image)"]
    msgs = errors(write_yaml, HEADER + TEXT + DECODER.replace("{x: text.embeddings}", "{x: text.embeddings, y: text.mask}"))
    assert msgs == ["pathways.decoder.inputs.y: gemma_decoder has no input 'y' (inputs: x, mask, positions, token_mask, segment_ids)"]


def test_unconnected_required_port(write_yaml):
    (msg,) = errors(write_yaml, HEADER + TEXT + DECODER.replace("inputs: {x: text.embeddings}", "inputs: {}"))
    assert msg == "pathways.decoder.inputs: required input 'x' [B,T,16] float of gemma_decoder is not connected"


def test_cycle_names_its_nodes(write_yaml):
    text = HEADER + """\
  a:
    type: late_fusion
    config: {width: 16, heads: 2, head_dim: 8}
    inputs: {x: b.x, context: b.x}
  b:
    type: late_fusion
    config: {width: 16, heads: 2, head_dim: 8}
    inputs: {x: a.x, context: a.x}
"""
    (msg,) = errors(write_yaml, text)
    assert msg.startswith("pathways.") and "cycle: " in msg
    cycle = msg.split("cycle: ")[1].split(" -> ")
    assert set(cycle) == {"a", "b"} and cycle[0] == cycle[-1]


def test_shape_mismatch_names_edge_and_both_shapes(write_yaml):
    text = HEADER + TEXT + IMAGE.replace("out_dim: 16", "out_dim: 12") + """\
  fusion:
    type: early_fusion
    config: {width: 16}
    inputs: {prefix: [image.tokens], text: text.embeddings}
"""
    (msg,) = errors(write_yaml, text)
    assert msg == (
        "pathways.fusion.inputs.prefix: edge image.tokens -> fusion.prefix: "
        "expected [2,4,16] float, got [2,4,12] float32: axis 2 is 12, expected 16"
    )


def test_dtype_mismatch(write_yaml):
    (msg,) = errors(write_yaml, HEADER + TEXT.replace("batch.tokens", "batch.image"))
    assert msg == "pathways.text.inputs.tokens: edge batch.image -> text.tokens: expected [B,T] int, got [2,16,16,3] float32: dtype mismatch"


def test_symbols_bind_across_a_nodes_ports(write_yaml):
    # The decoder's mask must be [B, T, T] for the same T as x.
    text = HEADER.replace("  image:", "  m: {shape: [B, 5, 5], dtype: bool}\n  image:") + TEXT + DECODER.replace(
        "{x: text.embeddings}", "{x: text.embeddings, mask: batch.m}"
    )
    (msg,) = errors(write_yaml, text)
    assert msg.endswith("expected [2,8,8] bool, got [2,5,5] bool: axis 1 is 5, expected 8")


def test_unknown_dim_in_batch(write_yaml):
    (msg,) = errors(write_yaml, HEADER.replace("[B, T]", "[B, L]") + TEXT)
    assert msg == "batch.tokens.shape.1: unknown dimension 'L': give its size under dims (dims: B, T)"


def test_every_problem_reported_at_once(write_yaml):
    msgs = errors(write_yaml, HEADER + TEXT.replace("token_embedding", "nope") + DECODER.replace("head_dim: 8", "head_dim: 7"))
    assert len(msgs) == 2


def test_explicit_outputs_checked(write_yaml):
    (msg,) = errors(write_yaml, HEADER + TEXT + "outputs: [text.nothing]\n")
    assert msg.startswith("outputs.0: 'text.nothing': pathway 'text' (token_embedding) has no output 'nothing'")


def test_huge_config_validates_without_allocating(write_yaml):
    # ~100B parameters: only possible in seconds if nothing is allocated.
    text = """\
dims: {B: 1, T: 2048}
batch:
  tokens: {shape: [B, T], dtype: int32}
pathways:
  text: {type: token_embedding, config: {vocab_size: 256000, width: 12288}, inputs: {tokens: batch.tokens}}
  decoder:
    type: gemma_decoder
    config: {width: 12288, depth: 48, heads: 96, kv_heads: 8, head_dim: 128, mlp_dim: 49152}
    inputs: {x: text.embeddings}
"""
    start = time.perf_counter()
    graph = pathways.validate(write_yaml(text))
    info = pathways.graph.summarize(graph)
    assert time.perf_counter() - start < 60
    assert info["total_params"] > 90e9


def test_vocab_size_checked_against_the_tokenizer(write_yaml):
    text = "tokenizer: bytes\n" + HEADER + TEXT + "  head:\n    type: lm_head\n    config: {vocab_size: 64, width: 16, tied: true}\n    inputs: {x: text.embeddings, embedding: text.table}\n"
    msgs = errors(write_yaml, text)
    assert msgs == [
        "pathways.text.config.vocab_size: 64 does not match the tokenizer's vocabulary of 259 (bytes)",
        "pathways.head.config.vocab_size: 64 does not match the tokenizer's vocabulary of 259 (bytes)",
    ]


def test_tokenizer_path_is_relative_to_the_config_and_must_be_a_model(write_yaml, tmp_path):
    (tmp_path / "junk.model").write_text("not a model")
    msgs = errors(write_yaml, "tokenizer: junk.model\n" + HEADER + TEXT)
    assert len(msgs) == 1 and msgs[0].startswith("tokenizer: not a SentencePiece model") and "junk.model" in msgs[0]
    msgs = errors(write_yaml, "tokenizer: missing.model\n" + HEADER + TEXT)
    assert msgs[0].startswith("tokenizer: no such file")


def test_sentencepiece_tokenizer_from_examples_validates():
    graph = pathways.validate(Path(__file__).resolve().parents[2] / "examples" / "digits.yaml")
    assert graph.tokenizer.vocab_size == 512 and graph.tokenizer.identity["type"] == "sentencepiece"
