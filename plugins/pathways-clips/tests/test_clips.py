"""pathways-clips, used as a third party would: its contracts, cached decoding equal to
uncached decoding, reading clips from files, and the whole CLI workflow (train,
finetune one pathway, eval a task that feeds video, generate from a file)."""

from __future__ import annotations

import json
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from pathways_clips import ClipEncoder, DigitClips, GPTDecoder
from PIL import Image
from safetensors.numpy import load_file

import pathways
from pathways.cli import main
from pathways.generate import Generator, MediaError
from pathways.plugins import component_registry, dataset_registry, task_registry
from pathways.testing import check_component

jax.config.update("jax_numpy_rank_promotion", "raise")

EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "clips.yaml"
TEXT_ONLY = """\
tokenizer: bytes
dims: {B: 2, T: 32}
batch: {tokens: {shape: [B, T], dtype: int32}}
pathways:
  text: {type: token_embedding, config: {vocab_size: 259, width: 32}, inputs: {tokens: batch.tokens}}
  decoder: {type: gpt_decoder, config: {width: 32, depth: 2, heads: 4, mlp_dim: 64, max_positions: 64}, inputs: {x: text.embeddings, token_mask: text.mask}}
  lm_head: {type: lm_head, config: {vocab_size: 259, width: 32}, inputs: {x: decoder.x}}
"""


def small(tmp_path: Path, steps: int = 30) -> Path:
    """examples/clips.yaml, shrunk for a test."""
    text = EXAMPLE.read_text().replace("steps: 300", f"steps: {steps}").replace("checkpoint_every: 100", f"checkpoint_every: {steps}")
    path = tmp_path / "clips.yaml"
    path.write_text(text.replace("depth: 2", "depth: 1"))
    return path


def cli(capsys, *argv) -> tuple[int, str, str]:
    code = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


def test_registered_by_this_plugin_and_keeping_their_contracts():
    for name in ("clip_encoder", "gpt_decoder"):
        assert component_registry().get(name).plugin == "clips"
    assert dataset_registry().get("digit_clips").plugin == "clips" and task_registry().get("clip_caption").plugin == "clips"
    out = check_component(ClipEncoder)
    assert out["tokens"].shape == (2, 3, 32)
    check_component(GPTDecoder)
    assert GPTDecoder.roles == {"cached_decoder"} and ClipEncoder.media["frames"].modality == "video"


def test_clips_are_captioned_digits_and_splits_do_not_share_images():
    train, test = DigitClips(DigitClips.Config()), DigitClips(DigitClips.Config(split="test"))
    r = test[3]
    assert r["video"].shape == (3, 8, 8, 1) and r["text"].split() == [("zero one two three four five six seven eight nine".split())[d] for d in r["digits"]]
    assert len(train) == 1437 and len(test) == 360
    assert all(f.tobytes() in {i.tobytes() for i in test.images} for f in test[11]["video"])  # test frames from test images
    assert np.array_equal(DigitClips(DigitClips.Config())[7]["video"], train[7]["video"])  # deterministic


@pytest.mark.parametrize("config", ["text_only", "video"])
def test_cached_decoding_equals_recomputing_the_whole_graph(config, tmp_path):
    path = tmp_path / "c.yaml"
    path.write_text(TEXT_ONLY if config == "text_only" else EXAMPLE.read_text().replace("T: 24", "T: 32"))
    graph = pathways.validate(path)
    gen = Generator(pathways.build(graph, jax.random.key(3)), graph, graph.tokenizer)
    assert (gen.route.decoder, gen.route.fusion_type) == ("decoder", None if config == "text_only" else "early_fusion")
    prompts = ["three", "a much longer prompt", ""]
    media = {} if config == "text_only" else {"video": [DigitClips(DigitClips.Config())[i]["video"] for i in range(3)]}
    cached = gen.generate(prompts, media=media, max_new_tokens=8)
    full = gen.generate(prompts, media=media, max_new_tokens=8, use_cache=False)
    assert [g.tokens for g in cached] == [g.tokens for g in full]
    assert sum(len(g.tokens) for g in cached) >= 12  # rows really decoded, not stopped at once: a real comparison


def test_clips_are_read_from_arrays_or_folders_of_frames(tmp_path):
    cfg = ClipEncoder.Config(**{**ClipEncoder.example, "frame_size": [8, 8], "channels": 1})
    clip = DigitClips(DigitClips.Config())[0]["video"]
    np.save(tmp_path / "clip.npy", clip)
    assert np.array_equal(ClipEncoder.read_media(cfg, "frames", tmp_path / "clip.npy")["frames"], clip)
    frames = tmp_path / "frames"
    frames.mkdir()
    for i, f in enumerate(clip):
        Image.fromarray((f[..., 0] * 255).round().astype(np.uint8)).resize((32, 32)).save(frames / f"{i:02d}.png")
    read = ClipEncoder.read_media(cfg, "frames", frames)["frames"]
    assert read.shape == (3, 8, 8, 1) and np.abs(read - clip).mean() < 0.1  # resized down again
    np.save(tmp_path / "short.npy", clip[:2])
    with pytest.raises(MediaError, match=r"array of shape \[2, 8, 8, 1\], the clip encoder takes \[3, 8, 8, 1\]"):
        ClipEncoder.read_media(cfg, "frames", tmp_path / "short.npy")


@pytest.mark.slow
def test_train_finetune_eval_generate_through_the_cli(tmp_path, capsys):
    config = small(tmp_path)
    code, _, err = cli(capsys, "train", config, "--out", tmp_path / "run")
    assert code == 0, err
    code, _, err = cli(capsys, "finetune", config, "--pathway", "video", "--from", tmp_path / "run", "--out", tmp_path / "ft", "--steps", 5)
    assert code == 0, err
    ckpt = lambda run: load_file(str(sorted((run / "checkpoints").iterdir())[-1] / "model.safetensors"))  # noqa: E731
    before, after = ckpt(tmp_path / "run"), ckpt(tmp_path / "ft")
    assert before.keys() == after.keys()
    for k in before:  # only the video pathway moved; the plugin decoder is bit-identical
        assert np.array_equal(before[k], after[k]) != k.startswith("video."), k

    code, out, err = cli(capsys, "eval", tmp_path / "ft", "--tasks", "clip_caption", "--limit", 8, "--json")
    assert code == 0, err
    scores = {r["metric"]: r for r in json.loads(out)["results"]} if isinstance(json.loads(out), dict) else {r["metric"]: r for r in json.loads(out)}
    assert set(scores) == {"digits_in_order", "digit_accuracy"} and all(r["n"] == 8 for r in scores.values())

    np.save(tmp_path / "clip.npy", DigitClips(DigitClips.Config(split="test"))[0]["video"])
    code, out, err = cli(capsys, "generate", tmp_path / "ft", "--prompt", "", "--input", f"video={tmp_path / 'clip.npy'}", "--max-new-tokens", 6, "--json")
    assert code == 0, err
    assert len(json.loads(out)[0]["tokens"]) > 0
    code, _, err = cli(capsys, "generate", tmp_path / "ft", "--prompt", "", "--max-new-tokens", 4)
    assert code != 0 and err.strip() == "error: batch.video: this model reads a video (batch.video): give --input video=FILE"
