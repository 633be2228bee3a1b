"""Chat and instruction records: rendered through a template, loss only on the replies."""

from __future__ import annotations

import json
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

from pathways._errors import ConfigError
from pathways.cli import main
from pathways.config import ChatSource, ResponseMask
from pathways.data import Batcher, ByteTokenizer, open_dataset, train_sentencepiece
from pathways.data._chat import default_template, render, stop_ids
from pathways.train._loss import next_token_loss

ROOT = Path(__file__).resolve().parents[2]
CHAT = [
    {"role": "system", "content": "Answer with the word only."},
    {"role": "user", "content": "What is Monday in French?"},
    {"role": "assistant", "content": "lundi"},
    {"role": "user", "content": "And Tuesday?"},
    {"role": "assistant", "content": "mardi"},
]
# google/gemma-2b-it's tokenizer_config.json `chat_template`, with its system-role refusal
# replaced by Gemma 3's rule (a system message opens the first user turn).
GEMMA_TEMPLATE = (
    "{{ bos_token }}{% if messages[0]['role'] == 'system' %}{% set first = messages[0]['content'] | trim + '\n\n' %}"
    "{% set loop_messages = messages[1:] %}{% else %}{% set first = '' %}{% set loop_messages = messages %}{% endif %}"
    "{% for message in loop_messages %}{% if (message['role'] == 'assistant') %}{% set role = 'model' %}{% else %}"
    "{% set role = message['role'] %}{% endif %}{{ '<start_of_turn>' + role + '\n' + (first if loop.first else '') "
    "+ message['content'] | trim + '<end_of_turn>\n' }}{% endfor %}"
)


def turns(messages):
    return [(m["role"], m["content"]) for m in messages]


def test_plain_template_masks_exactly_the_replies_and_the_eos_after_each():
    tok = ByteTokenizer()
    ids, mask = render(turns(CHAT), tok, "plain")
    assert tok.decode(ids) == "System: Answer with the word only.\nUser: What is Monday in French?\nAssistant: lundi\nUser: And Tuesday?\nAssistant: mardi\n"
    assert ids[0] == tok.bos_id and ids.count(tok.eos_id) == 2
    learned = [i for i, m in zip(ids, mask) if m]
    assert learned == tok.encode("lundi", bos=False) + tok.encode("mardi", bos=False)  # each reply, then eos
    assert stop_ids(tok) == [tok.eos_id]


@pytest.fixture(scope="module")
def gemma_tokenizer(tmp_path_factory):
    folder = tmp_path_factory.mktemp("sp")
    lines = [m["content"] for m in CHAT] * 20 + [line for line in (ROOT / "examples/own_data/notes.txt").read_text().splitlines()] * 20
    (folder / "text.txt").write_text("\n".join(lines) + "\n")
    model = train_sentencepiece([folder / "text.txt"], 400, folder / "sp", user_defined_symbols="<start_of_turn>,<end_of_turn>", add_dummy_prefix=False, hard_vocab_limit=False)
    from pathways.data import load_tokenizer

    return load_tokenizer(str(model))


def test_gemma_template_renders_what_gemmas_own_chat_template_renders(gemma_tokenizer):
    jinja2 = pytest.importorskip("jinja2")
    tok = gemma_tokenizer
    assert default_template(tok) == "gemma" and default_template(ByteTokenizer()) == "plain"
    ids, mask = render(turns(CHAT), tok, "gemma")
    expected = jinja2.Template(GEMMA_TEMPLATE).render(messages=CHAT, bos_token="")
    assert tok._sp.decode(ids[1:]) == expected and ids[0] == tok.bos_id
    replies = tok._sp.decode([i for i, m in zip(ids, mask) if m])
    assert replies == "lundi<end_of_turn>mardi<end_of_turn>"
    assert stop_ids(tok) == [tok.eos_id, tok.encode("<end_of_turn>", bos=False, eos=False)[0]]


def chat_batcher(tmp_path, records, fields, T=64):
    path = tmp_path / "chats.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in records))
    batch = {"tokens": jax.ShapeDtypeStruct((2, T), jnp.int32), "loss_mask": jax.ShapeDtypeStruct((2, T), jnp.bool_)}
    return Batcher(open_dataset("jsonl", {"path": str(path)}), batch, fields, ByteTokenizer(), seed=0)


def test_batcher_fills_tokens_and_response_mask_from_messages_and_from_pairs(tmp_path):
    tok = ByteTokenizer()
    fields = {"tokens": ChatSource(messages="messages"), "loss_mask": ResponseMask(response_of="tokens")}
    b = chat_batcher(tmp_path, [{"messages": CHAT}, {"messages": CHAT[1:3]}], fields)
    out = b.collate([b.dataset[0], b.dataset[1]])
    assert out["tokens"].dtype == np.int32 and out["loss_mask"].dtype == np.bool_
    assert tok.decode(out["tokens"][1][out["loss_mask"][1]]) == "lundi" and out["loss_mask"][1].sum() == 6  # and its eos
    assert not out["loss_mask"][out["tokens"] == 0].any()  # padding is never a reply

    pairs = {"tokens": ChatSource(prompt="q", response="a", system="s"), "loss_mask": ResponseMask(response_of="tokens")}
    b = chat_batcher(tmp_path, [{"q": "What is Monday in French?", "a": "lundi", "s": ""}] * 2, pairs)
    out = b.collate([b.dataset[0], b.dataset[1]])
    assert tok.decode(out["tokens"][0]) == "User: What is Monday in French?\nAssistant: lundi\n"  # empty system: none
    assert tok.decode(out["tokens"][0][out["loss_mask"][0]]) == "lundi"


def test_a_conversation_longer_than_the_row_is_truncated_with_its_mask(tmp_path):
    fields = {"tokens": ChatSource(messages="messages"), "loss_mask": ResponseMask(response_of="tokens")}
    b = chat_batcher(tmp_path, [{"messages": CHAT}] * 2, fields, T=70)
    out = b.collate([b.dataset[0]] * 2)
    ids, mask = render(turns(CHAT), ByteTokenizer(), "plain")
    assert (out["tokens"][0] == ids[:70]).all() and (out["loss_mask"][0] == mask[:70]).all()


@pytest.mark.parametrize(
    "record, said",
    [
        ({"messages": [{"role": "user", "content": "hi"}]}, "record 1 has no assistant message"),
        ({"messages": [{"role": "robot", "content": "hi"}]}, "record 1, message 0: role 'robot'"),
        ({"messages": "hi"}, "record 1: 'messages' is not a non-empty list of messages"),
        ({"other": 1}, "record 1 has no field 'messages'"),
    ],
)
def test_bad_chat_records_name_the_record_and_message(tmp_path, record, said):
    fields = {"tokens": ChatSource(messages="messages"), "loss_mask": ResponseMask(response_of="tokens")}
    b = chat_batcher(tmp_path, [{"messages": CHAT}, record], fields)
    with pytest.raises(ConfigError) as exc:
        b.collate([b.dataset[1]], [1])
    assert said in str(exc.value) and "data.fields.tokens" in str(exc.value)


def test_next_token_loss_counts_only_masked_targets():
    key = jax.random.PRNGKey(0)
    logits = jax.random.normal(key, (2, 6, 11))
    targets = jnp.array([[1, 4, 5, 6, 2, 0], [1, 7, 8, 9, 10, 2]])
    mask = jnp.array([[0, 0, 1, 1, 1, 1], [0, 0, 0, 0, 1, 1]], bool)
    loss, count = next_token_loss(logits, targets, mask)
    ce = optax.softmax_cross_entropy_with_integer_labels(logits[:, :-1], targets[:, 1:])
    keep = np.array([[0, 1, 1, 1, 0], [0, 0, 0, 1, 1]], bool)  # shifted mask, and row 0's pad target
    assert count == keep.sum()
    np.testing.assert_allclose(loss, ce[keep].mean(), rtol=1e-6)
    grad = jax.grad(lambda lg: next_token_loss(lg, targets, mask)[0])(logits)
    assert not np.asarray(grad[0, :1]).any() and not np.asarray(grad[1, :3]).any()  # prompt positions get no gradient


def test_validate_names_each_chat_problem(tmp_path, capsys):
    import yaml

    cfg = yaml.safe_load((ROOT / "examples/own_chat.yaml").read_text())
    cfg["data"]["config"]["path"] = str(ROOT / "examples/own_data/chats.jsonl")
    cfg["data"]["fields"]["loss_mask"] = {"response_of": "text"}
    cfg["batch"]["loss_mask"]["dtype"] = "int32"
    path = tmp_path / "bad.yaml"
    path.write_text(yaml.safe_dump(cfg))
    assert main(["validate", str(path)]) != 0
    err = capsys.readouterr().err
    assert "data.fields.loss_mask.response_of: 'text' is not a batch field rendered from chat records" in err
    assert "data.fields.loss_mask: a response mask is bool, batch.loss_mask is int32" in err

    cfg = yaml.safe_load((ROOT / "examples/own_chat.yaml").read_text())
    cfg["data"]["config"]["path"] = str(ROOT / "examples/own_data/chats.jsonl")
    cfg["train"]["losses"][0]["mask"] = "batch.nope"
    cfg["train"]["losses"].append({"type": "next_token", "logits": "lm_head.logits", "targets": "batch.tokens", "mask": "batch.tokens"})
    path.write_text(yaml.safe_dump(cfg))
    assert main(["train", str(path), "--out", str(tmp_path / "run"), "--steps", "1"]) != 0
    err = capsys.readouterr().err
    assert "train.losses.0.mask: 'batch.nope' is not a batch field" in err
    assert "train.losses.1.mask: batch.tokens is int32; a loss mask is bool" in err


@pytest.mark.slow
def test_the_chat_example_learns_the_replies_and_its_generations_stop(tmp_path):
    from pathways.generate import Generator

    assert main(["train", str(ROOT / "examples/own_chat.yaml"), "--out", str(tmp_path / "run"), "--no-progress"]) == 0
    chats = [json.loads(line)["messages"] for line in (ROOT / "examples/own_data/chats.jsonl").read_text().splitlines()]
    single = [m for m in chats if len(m) == 2][:24]  # one question, one answer
    prompts = [f"User: {m[0]['content']}\nAssistant: " for m in single]
    generator = Generator.from_checkpoint(tmp_path / "run")
    out = generator.generate(prompts, max_new_tokens=24)
    right = sum(g.text == m[1]["content"] for g, m in zip(out, single))
    assert right >= 0.8 * len(single), [(g.text, m[1]["content"]) for g, m in zip(out, single)]
    assert all(len(g.tokens) < 24 for g in out)  # each stopped at the eos that ends a reply
