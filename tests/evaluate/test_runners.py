"""The shared runners on small untrained models: what they score is what the model computes."""

from __future__ import annotations

from pathlib import Path

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
import pytest
from evalkit import AUDIO, DIGITS, TEXT

import pathways
from pathways.data import ByteTokenizer, load_tokenizer
from pathways.evaluate import EvalModel, Task, continuation
from pathways.evaluate._classification import classification
from pathways.evaluate._generation import generate
from pathways.evaluate._loglik import multiple_choice, perplexity, sequence_logprobs, windows
from pathways.generate import Generator
from pathways.train._loss import next_token_loss

ROOT = Path(__file__).resolve().parents[2]
BYTES = ByteTokenizer()


def tiny(tmp_path, text: str, **replace) -> EvalModel:
    for old, new in replace.items():
        text = text.replace(old, new)
    (tmp_path / "c.yaml").write_text(text)
    graph = pathways.validate(tmp_path / "c.yaml")
    return EvalModel(pathways.build(graph, jax.random.key(0)), graph, graph.tokenizer)


class PreferHead(eqx.Module):
    """LM head stand-in: logits favouring `after` at positions >= `prefix`, `before` earlier (whatever x is)."""

    before: jax.Array  # [V]
    after: jax.Array  # [V]
    prefix: int = eqx.field(static=True)

    def __call__(self, *, x, embedding=None):
        B, S, _ = x.shape
        pos = jnp.arange(S)[None, :, None]  # [1, S, 1]
        logits = jnp.where(pos < self.prefix, self.before[None, None, :], self.after[None, None, :])  # [1, S, V]
        return {"logits": jnp.broadcast_to(logits, (B, S, logits.shape[-1]))}


def favour(char: str) -> jax.Array:
    return jnp.zeros(BYTES.vocab_size).at[BYTES.encode(char, bos=False, eos=False)[0]].set(10.0)


def with_head(em: EvalModel, head: PreferHead) -> EvalModel:
    return EvalModel(eqx.tree_at(lambda m: m.pathways["lm_head"], em.model, head), em.graph, em.tokenizer)


class MC(Task):
    type_name = "mc"
    kind = "multiple_choice"

    def __init__(self, examples):
        self.rows = examples

    def examples(self, limit):
        return iter(self.rows[:limit])


def scores(out) -> dict[str, float]:
    return {s.metric: s.value for s in out}


def test_multiple_choice_picks_the_likeliest_continuation(tmp_path):
    em = with_head(tiny(tmp_path, TEXT, **{"T: 256": "T: 32"}), PreferHead(favour("b"), favour("b"), 0))
    task = MC([{"prompt": "pick", "choices": ["cat", "bbb", "dog"], "answer": 1}])
    assert scores(multiple_choice(em, task, task.rows, batch_size=2)) == {"acc": 1.0, "acc_norm": 1.0}
    # " x" has the higher total log-probability (fewer unlikely tokens); " bbbbx" the higher mean per token.
    task = MC([{"prompt": "pick", "choices": ["x", "bbbbx"], "answer": 0}])
    assert scores(multiple_choice(em, task, task.rows, batch_size=2)) == {"acc": 1.0, "acc_norm": 0.0}


def test_choices_beyond_the_context_are_impossible(tmp_path):
    em = with_head(tiny(tmp_path, TEXT, **{"T: 256": "T: 32"}), PreferHead(favour("b"), favour("b"), 0))
    rows = [
        {"prompt": "pick", "choices": ["x", "b" * 40], "answer": 0},  # the likely choice does not fit in 32 tokens
        {"prompt": "pick", "choices": ["b" * 40, "x"], "answer": 0},  # the right answer does not fit: skipped
    ]
    acc, acc_norm = multiple_choice(em, MC(rows), rows, batch_size=2)
    assert (acc.value, acc_norm.value, acc.n, acc.skipped) == (1.0, 1.0, 1, 1)
    assert acc.details == {"choices_out_of_context": 1}


def test_multiple_choice_reads_text_after_the_modality_prefix(tmp_path):
    em = tiny(tmp_path, DIGITS)
    prefix = em.graph.values["image.tokens"].shape[1]  # 4 patch tokens
    em = with_head(em, PreferHead(favour("a"), favour("b"), prefix))
    image = np.zeros((8, 8, 1), np.float32)
    task = MC([{"prompt": "", "choices": ["aaa", "bbb"], "answer": 1, "image": image}])
    assert scores(multiple_choice(em, task, task.rows, batch_size=4))["acc"] == 1.0


def test_batched_log_probabilities_equal_one_unpadded_sequence_at_a_time(tmp_path):
    em = tiny(tmp_path, DIGITS)
    images = [np.random.default_rng(i).random((8, 8, 1), np.float32) for i in range(3)]
    texts = ["a handwritten seven", "a two", "x"]
    rows = [(BYTES.encode(t, eos=False), {"image": im}) for t, im in zip(texts, images)]
    batched = sequence_logprobs(em, rows, batch_size=2, task="t")  # the second batch is filled up
    for (ids, ex), got in zip(rows, batched):
        batch = {"tokens": jnp.asarray([ids], jnp.int32), "image": jnp.asarray(ex["image"][None])}
        logits = em.model(batch)["lm_head.logits"][0, -len(ids) :]  # [len, V]: the text after the image prefix
        want = jax.nn.log_softmax(logits[:-1], axis=-1)[jnp.arange(len(ids) - 1), jnp.asarray(ids[1:])]
        np.testing.assert_allclose(got, np.asarray(want), atol=2e-5)


def test_perplexity_is_exp_of_the_training_loss(tmp_path):
    em = tiny(tmp_path, TEXT, **{"T: 256": "T: 32"})
    texts = ["It was a fine day.", "Botchan went to Shikoku."]
    ids = np.stack([BYTES.pad(BYTES.encode(t), 32) for t in texts])  # as the batcher makes training batches
    loss, count = next_token_loss(em.model({"tokens": jnp.asarray(ids)})["lm_head.logits"], jnp.asarray(ids))

    class Text(Task):
        type_name, kind = "text", "perplexity"

        def examples(self, limit):
            return iter([])

    out = scores(perplexity(em, Text(), [{"text": t} for t in texts], batch_size=8))
    assert out["perplexity"] == pytest.approx(float(np.exp(loss)), rel=1e-5)
    nats = float(loss) * float(count)
    assert out["bits_per_byte"] == pytest.approx(nats / np.log(2) / sum(len(t) for t in texts), rel=1e-5)


def test_windows_predict_every_token_once():
    for n in (1, 2, 5, 8, 9, 23):
        ids = list(range(n))
        ws = windows(ids, 4)
        assert all(1 <= len(w) <= 4 for w in ws)
        assert [t for w in ws for t in w[1:]] == ids[1:]


def test_generation_equals_the_generator(tmp_path):
    em = tiny(tmp_path, TEXT, **{"T: 256": "T: 32"})
    prompts = ["Germany =>", "a", "a river is a kind of"]
    texts, kept, budget = generate(em, [{"prompt": p} for p in prompts], max_new_tokens=6, batch_size=2, task="t")
    reference = Generator(em.model, em.graph, em.tokenizer).generate(prompts, max_new_tokens=6)
    assert kept == [0, 1, 2] and budget == [6, 6, 6]
    assert texts == [g.text.strip() for g in reference]


def test_each_prompt_may_grow_to_the_context_and_no_further(tmp_path):
    em = tiny(tmp_path, TEXT, **{"T: 256": "T: 16"})
    gen = Generator(em.model, em.graph, em.tokenizer)
    prompts = ["short", "a longer one", "far too long for sixteen bytes"]
    texts, kept, budget = generate(em, [{"prompt": p} for p in prompts], max_new_tokens=8, batch_size=4, task="t")
    assert kept == [0, 1] and budget == [8, 16 - len("a longer one") - 1]
    # decoded together, each as it would be alone with its own budget
    assert texts == [gen.generate([p], max_new_tokens=b)[0].text.strip() for p, b in zip(prompts, budget)]


def test_continuation_with_sentencepiece_splits_at_the_answer():
    tok = load_tokenizer(str(ROOT / "examples" / "tokenizers" / "english.model"))
    whole, start = continuation(tok, "a river is a kind of", "stream")
    assert whole == tok.encode("a river is a kind of stream", eos=False)
    assert whole[:start] == tok.encode("a river is a kind of", eos=False)
    assert tok.decode(whole[start:]).strip() == "stream"
    whole, start = continuation(BYTES, "", "dix-sept")  # an empty prompt: the answer follows bos
    assert start == 1 and BYTES.decode(whole[start:]) == "dix-sept"


def test_classification_is_the_heads_argmax(tmp_path):
    em = tiny(tmp_path, AUDIO)
    rng = np.random.default_rng(0)
    waves = np.stack([rng.normal(size=16000).astype(np.float32) * 0.1 for _ in range(3)])  # [3, 16000]
    audio = em.model.pathways["audio"](waveform=jnp.asarray(waves), waveform_mask=jnp.ones((3, 16000), bool))
    predicted = np.argmax(np.asarray(em.model.pathways["number"](x=audio["tokens"], mask=audio["mask"])["logits"]), axis=-1)  # [3]
    labels = [int(predicted[0]), int(predicted[1]), (int(predicted[2]) + 1) % 21]  # the head gets two of three right
    examples = [{"audio": w, "label": y} for w, y in zip(waves, labels)]

    class Numbers(Task):
        type_name, kind, num_classes = "numbers", "classification", 21

        def examples(self, limit):
            return iter([])

    (score,) = classification(em, Numbers(), examples, batch_size=2)  # no audio_mask given: whole clips
    assert score.details["head"] == "number" and score.n == 3
    assert score.value == pytest.approx(2 / 3)
