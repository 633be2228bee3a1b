"""Chat and instruction records to tokens, with a mask of the tokens the model should learn to write.

A conversation is rendered turn by turn: each piece of template text and each
message is tokenized on its own and the ids concatenated (as torchtune's
`tokenize_messages` does), so every token is known to belong to a prompt or to a
response. The response mask is True on an assistant message's tokens and the
end-of-turn marker that closes it, so a model trained on it learns where to stop.

Templates (`template:` in a chat source; default from the tokenizer):

    gemma   <bos><start_of_turn>user\\n{user}<end_of_turn>\\n<start_of_turn>model\\n{reply}<end_of_turn>\\n ...
            a system message is put before the first user message, as Gemma's own template does
    chatml  <bos><|im_start|>{role}\\n{content}<|im_end|>\\n ...
    plain   <bos>System: {system}\\nUser: {user}\\nAssistant: {reply}<eos>\\n ...

Each reply's end marker (`<end_of_turn>`, `<|im_end|>`, or eos for `plain`) is masked
in with it, so the model learns to stop; the generator stops on all of them.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from pathways._errors import ConfigError, Problem

ROLES = {"system": "system", "user": "user", "human": "user", "assistant": "assistant", "model": "assistant", "gpt": "assistant"}
TEMPLATES = ("gemma", "chatml", "plain")


def default_template(tokenizer) -> str:
    """`gemma` for a tokenizer that knows `<start_of_turn>` as one piece, else `plain`."""
    encode = getattr(tokenizer, "encode", None)
    if encode is not None and hasattr(tokenizer, "id_to_piece"):
        ids = tokenizer.encode("<start_of_turn>", bos=False, eos=False)
        if len(ids) == 1:
            return "gemma"
    return "plain"


def messages_of(record: dict[str, Any], source, record_index: int, where: str) -> list[tuple[str, str]]:
    """The record's conversation as (role, text) pairs, roles normalised to system/user/assistant; `where` names the source in errors."""
    if source.messages is None:
        turns = []
        for name in (source.system, source.prompt, source.response):
            if name is not None and name not in record:
                raise ConfigError([Problem(where, f"record {record_index} has no field {name!r}")])
        if source.system is not None and record[source.system]:
            turns.append(("system", record[source.system]))
        turns += [("user", record[source.prompt]), ("assistant", record[source.response])]
        raw = [{"role": r, "content": c} for r, c in turns]
    else:
        if source.messages not in record:
            raise ConfigError([Problem(where, f"record {record_index} has no field {source.messages!r}")])
        raw = record[source.messages]
        if not isinstance(raw, list) or not raw:
            raise ConfigError([Problem(where, f"record {record_index}: {source.messages!r} is not a non-empty list of messages")])
    out = []
    for i, m in enumerate(raw):
        role = m.get("role", m.get("from")) if isinstance(m, dict) else None
        text = m.get("content", m.get("value")) if isinstance(m, dict) else None
        if role not in ROLES or not isinstance(text, str):
            got = f"role {role!r}" if role not in ROLES else f"content of type {type(text).__name__}"
            raise ConfigError([Problem(where, f"record {record_index}, message {i}: {got}; a message is {{role: system|user|assistant, content: TEXT}}")])
        out.append((ROLES[role], text))
    if not any(role == "assistant" for role, _ in out):
        raise ConfigError([Problem(where, f"record {record_index} has no assistant message: nothing to learn")])
    return out


def _pieces(turns: list[tuple[str, str]], template: str) -> list[tuple[str, bool]]:
    """The rendered conversation as (text, is_response) pieces, without bos/eos."""
    out: list[tuple[str, bool]] = []
    if template == "gemma":
        system = None
        for role, text in turns:
            if role == "system":
                system = text if system is None else f"{system}\n\n{text}"
                continue
            if role == "user" and system is not None:
                text, system = f"{system}\n\n{text}", None
            out.append((f"<start_of_turn>{'model' if role == 'assistant' else 'user'}\n", False))
            out.append((f"{text.strip()}<end_of_turn>", role == "assistant"))  # Gemma's template trims
            out.append(("\n", False))
    elif template == "chatml":
        for role, text in turns:
            out.append((f"<|im_start|>{role}\n", False))
            out.append((f"{text}<|im_end|>", role == "assistant"))
            out.append(("\n", False))
    else:
        label = {"system": "System: ", "user": "User: ", "assistant": "Assistant: "}
        for role, text in turns:
            out.append((label[role], False))
            out.append((text, role == "assistant"))
            if role == "assistant":
                out.append((None, True))  # eos ends each reply: the generator stops on it
            out.append(("\n", False))
    return out


def render(turns: list[tuple[str, str]], tokenizer, template: str) -> tuple[list[int], list[bool]]:
    """Token ids of the conversation (bos first) and, per id, whether it is a reply token."""
    ids, mask = [tokenizer.bos_id], [False]
    for text, response in _pieces(turns, template):
        piece = [tokenizer.eos_id] if text is None else tokenizer.encode(text, bos=False, eos=False)
        ids += piece
        mask += [response] * len(piece)
    return ids, mask


def stop_ids(tokenizer) -> list[int]:
    """Ids that end a reply: eos, and each template's end-of-turn marker where the tokenizer has it as one piece."""
    out = [tokenizer.eos_id]
    if hasattr(tokenizer, "id_to_piece"):
        for marker in ("<end_of_turn>", "<|im_end|>"):
            ids = tokenizer.encode(marker, bos=False, eos=False)
            if len(ids) == 1 and ids[0] not in out:
                out.append(ids[0])
    return out


def padded(ids: list[int], mask: list[bool], length: int, pad_id: int) -> tuple[np.ndarray, np.ndarray]:
    """`ids` and `mask` truncated or right-padded to `length` (padding is never response)."""
    tokens = np.full(length, pad_id, dtype=np.int64)
    resp = np.zeros(length, dtype=bool)
    n = min(len(ids), length)
    tokens[:n], resp[:n] = ids[:n], mask[:n]
    return tokens, resp
