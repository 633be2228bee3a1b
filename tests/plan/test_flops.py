"""Parameters and FLOPs per pathway: hand counts, XLA's own count, and the embedding split."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import equinox as eqx
import jax
import pytest

import pathways
from pathways.graph import resolve
from pathways.plan import PlanError, _flops, compute_plan, flops_per_token, pathway_costs

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"

TINY = """\
dims: {B: 2, T: 16}
batch: {tokens: {shape: [B, T], dtype: int32}}
pathways:
  text: {type: token_embedding, config: {vocab_size: 64, width: 8}, inputs: {tokens: batch.tokens}}
  decoder:
    type: gemma_decoder
    config: {width: 8, depth: 2, heads: 2, kv_heads: 1, head_dim: 4, mlp_dim: 16}
    inputs: {x: text.embeddings}
  lm_head: {type: lm_head, config: {vocab_size: 64, width: 8, tied: %s}, inputs: %s}
"""


def tiny(write_yaml, tied=True):
    inputs = "{x: decoder.x, embedding: text.table}" if tied else "{x: decoder.x}"
    return pathways.validate(write_yaml(TINY % ("true" if tied else "false", inputs)))


def test_tiny_decoder_flops_per_token_match_a_hand_count(write_yaml):
    costs = pathway_costs(tiny(write_yaml))
    # One layer: 2 RMSNorms 2*8, q 8*8, k 8*4, v 8*4, o 8*8, GeGLU 3*8*16 = 592; two layers + final norm 8.
    assert costs["decoder"].params == 2 * 592 + 8 == 1192
    # Forward per token: 2 per weight + causal attention 2 * layers * T * d_attn = 2*2*16*8.
    assert costs["decoder"].forward_flops == 16 * (2 * 1192 + 512)
    assert costs["lm_head"].forward_flops == 16 * 2 * 8 * 64  # logits, tied or not
    assert costs["text"].forward_flops == 0 and costs["text"].embedding_params == 64 * 8
    per_token = flops_per_token(costs, "decoder")
    assert per_token == {"forward": 2896 + 1024, "training": 3 * 3920, "inference": 3920}


def test_tied_head_counts_once_and_an_untied_one_is_non_embedding(write_yaml):
    tied = compute_plan(tiny(write_yaml, tied=True))["params"]
    untied = compute_plan(tiny(write_yaml, tied=False))["params"]
    assert tied == {"total": 512 + 1192, "embedding": 512, "non_embedding": 1192}
    assert untied == {"total": 2 * 512 + 1192, "embedding": 512, "non_embedding": 512 + 1192}


@pytest.mark.parametrize("position, embedding", [("learned", 16 * 96), ("sincos2d", 0)])
def test_learned_position_tables_are_embedding_parameters(position, embedding):
    graph = pathways.validate(EXAMPLES / "image_text.yaml")
    spec = graph.loaded.spec
    image = spec.pathways["image"].model_copy(update={"config": {**spec.pathways["image"].config, "position_embedding": position}})
    graph = resolve(dataclasses.replace(graph.loaded, spec=spec.model_copy(update={"pathways": {**spec.pathways, "image": image}})))
    assert pathway_costs(graph)["image"].embedding_params == embedding


def _unrolled(path):
    """An example with every stack unrolled, so that XLA's cost analysis sees each layer."""
    graph = pathways.validate(path)
    spec = graph.loaded.spec
    stacks = ("gemma_decoder", "vit_encoder", "audio_encoder")
    pw = {k: v.model_copy(update={"config": {**v.config, "scan_layers": False}}) if v.type in stacks else v for k, v in spec.pathways.items()}
    return resolve(dataclasses.replace(graph.loaded, spec=spec.model_copy(update={"pathways": pw})))


@pytest.mark.parametrize(
    "example, slack",
    [("image_text.yaml", 0.05), ("audio_text.yaml", 0.05), ("late_fusion.yaml", 0.05), ("presets/gemma-2b.yaml", 0.01), ("presets/gemini-pro.yaml", 0.01)],
)
def test_counted_flops_agree_with_xla(example, slack):
    """Our count, plus the causal half of decoder attention that XLA computes anyway, is
    at most XLA's, which also counts softmax, norms, activations and the log-mel front end:
    within 5% on the tiny examples, 1% at real widths. Abstract: nothing is allocated."""
    graph = _unrolled(EXAMPLES / example)
    costs = pathway_costs(graph)
    ours = sum(c.forward_flops for c in costs.values())
    for name, c in costs.items():
        if c.type == "gemma_decoder":
            cfg = graph.nodes[name].cfg
            ours += 2 * cfg.depth * c.tokens**2 * cfg.heads * cfg.head_dim
    params, static = eqx.partition(pathways.build_abstract(graph), lambda x: isinstance(x, jax.ShapeDtypeStruct))
    lowered = jax.jit(lambda p, b: eqx.combine(p, static)(b)).lower(params, graph.batch)
    xla = lowered.cost_analysis()["flops"] / graph.loaded.spec.dims["B"]
    assert ours <= xla <= (1 + slack) * ours


def test_seq_len_changes_the_text_and_keeps_the_image_prefix():
    graph = pathways.validate(EXAMPLES / "image_text.yaml")  # 16 image + 32 text tokens
    longer = _flops.with_sequence_length(graph, 112)
    costs = pathway_costs(longer)
    assert costs["decoder"].tokens == 112 and costs["text"].tokens == 96 and costs["image"].tokens == 16
    assert compute_plan(graph, seq_len=112)["sequence"]["length"] == 112
    with pytest.raises(PlanError, match="no room for text after the 16-token modality prefix"):
        _flops.with_sequence_length(graph, 16)


def test_a_component_that_does_not_count_itself_is_estimated(write_yaml, monkeypatch):
    from pathways.components import GemmaDecoder, LMHead

    graph = tiny(write_yaml)
    monkeypatch.setattr(LMHead, "cost", classmethod(lambda cls, cfg, module, shapes: None))
    monkeypatch.setattr(GemmaDecoder, "cost", classmethod(lambda cls, cfg, module, shapes: None))
    costs = pathway_costs(graph)
    assert costs["decoder"].estimated and costs["decoder"].forward_flops == 2 * 1192 * 16
    assert costs["lm_head"].estimated and not costs["text"].estimated


def test_a_graph_without_a_decoder_cannot_be_planned(write_yaml):
    graph = pathways.validate(
        write_yaml(
            "dims: {B: 2, T: 4}\nbatch: {tokens: {shape: [B, T], dtype: int32}}\npathways:\n"
            "  text: {type: token_embedding, config: {vocab_size: 16, width: 8}, inputs: {tokens: batch.tokens}}\n"
            "  head: {type: classifier_head, config: {width: 8, num_classes: 3}, inputs: {x: text.embeddings}}\n"
        )
    )
    with pytest.raises(PlanError, match="no decoder pathway"):
        compute_plan(graph)
