"""The config file's schema: pydantic models, unknown fields rejected everywhere."""

from __future__ import annotations

import re
from typing import Any, Literal

import pydantic

NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_\-]*$")
RESERVED = frozenset({"batch"})


class _Strict(pydantic.BaseModel):
    """Unknown fields are errors, and so are `.inf` and `.nan` in any float field (an `lr: .inf` run would only produce NaNs)."""

    model_config = pydantic.ConfigDict(extra="forbid", allow_inf_nan=False)


class FieldSpec(_Strict):
    """One batch field: its shape (ints or names from `dims`) and dtype."""

    shape: list[int | str]
    dtype: str = "float32"


class PathwaySpec(_Strict):
    """One node of the graph.

    `type` is a registered component name (see `pathways plugins`); `config` is
    validated by that component's own config model; `inputs` maps each input
    port to a reference `batch.FIELD` or `PATHWAY.PORT` (or a list of them, for
    a port that takes several).
    """

    type: str
    config: dict[str, Any] = {}
    inputs: dict[str, str | list[str]] = {}


class ChatSource(_Strict):
    """A token batch field rendered from chat records through a chat template.

    `{messages: FIELD}`: the field holds `[{role, content}, ...]` (roles `system`,
    `user`, `assistant`; ShareGPT's `{from, value}` with `human`/`gpt` also read).
    `{prompt: FIELD, response: FIELD}` (and optionally `system: FIELD`): one
    instruction and its answer. `template` defaults to the tokenizer's own (`gemma`
    for a tokenizer with `<start_of_turn>`, else `plain`); see docs/chat-data.md.
    """

    messages: str | None = None
    prompt: str | None = None
    response: str | None = None
    system: str | None = None
    template: Literal["gemma", "chatml", "plain"] | None = None

    @pydantic.model_validator(mode="after")
    def _one_form(self):
        if (self.messages is None) == (self.prompt is None and self.response is None):
            raise ValueError("give either `messages: FIELD` or `prompt: FIELD` and `response: FIELD`")
        if self.messages is None and (self.prompt is None or self.response is None):
            raise ValueError("an instruction pair needs both `prompt` and `response`")
        if self.messages is not None and self.system is not None:
            raise ValueError("`system` goes with prompt/response pairs; in `messages` it is a message with role system")
        return self

    @property
    def record_fields(self) -> list[str]:
        return [f for f in (self.messages, self.system, self.prompt, self.response) if f is not None]


class ResponseMask(_Strict):
    """A bool batch field: True on the response tokens of the chat-rendered batch field `response_of`."""

    response_of: str


Source = str | ChatSource | ResponseMask


class MixtureSource(_Strict):
    """One source of a weighted mixture: a dataset, its config, how its records fill the batch, and its weight."""

    dataset: str = pydantic.Field(description="registered dataset name (see `pathways data list`)")
    config: dict[str, Any] = pydantic.Field({}, description="the dataset's own config")
    eval_config: dict[str, Any] | None = pydantic.Field(None, description="dataset config for held-out loss; sources without one are left out of it")
    fields: dict[str, Source] = pydantic.Field(description="batch field -> record field, as in `data.fields`")
    weight: float = pydantic.Field(1.0, ge=0, description="relative share of examples (0 leaves the source out)")
    name: str | None = pydantic.Field(None, description="name in metrics.jsonl (default: the dataset's, numbered when repeated)")


class DataSpec(_Strict):
    """Where training batches come from: a registered dataset and how its records fill the batch, or a weighted mixture of them.

    A mixture draws the source of every example at random with probability
    weight / sum(weights), from the seed alone (as `interleave_datasets` with
    `probabilities` does), so a resumed run draws the same examples.
    """

    dataset: str | None = pydantic.Field(None, description="registered dataset name (see `pathways data list`)")
    config: dict[str, Any] = pydantic.Field({}, description="the dataset's own config (split, ...)")
    eval_config: dict[str, Any] | None = pydantic.Field(None, description="dataset config for held-out loss (e.g. {split: test})")
    fields: dict[str, Source] | None = pydantic.Field(
        None, description="batch field -> record field (strings feeding int fields are tokenized), a chat source, or a response mask"
    )
    mixture: list[MixtureSource] | None = pydantic.Field(None, min_length=1, description="weighted sources, in place of dataset/config/fields")
    packing: bool = pydantic.Field(False, description="pack several examples into each row, with batch.segment_ids and batch.positions (README: packing)")

    @pydantic.model_validator(mode="after")
    def _one_form(self):
        if self.mixture is None:
            if self.dataset is None or self.fields is None:
                raise ValueError("name a `dataset` and its `fields`, or give a `mixture` of sources")
        else:
            if self.dataset is not None or self.fields is not None or self.config or self.eval_config is not None:
                raise ValueError("`mixture` replaces dataset/config/eval_config/fields: put those in each source")
            if not any(s.weight > 0 for s in self.mixture):
                raise ValueError("every mixture weight is 0: at least one source must have a positive weight")
            if self.packing:
                raise ValueError("packing a mixture is not supported yet: pack one dataset, or turn packing off")
        return self

    @property
    def sources(self) -> list[tuple[str, MixtureSource]]:
        """(config path, source) of every source; a single dataset is a mixture of one."""
        if self.mixture is None:
            one = MixtureSource(dataset=self.dataset, config=self.config, eval_config=self.eval_config, fields=self.fields)
            return [("data", one)]
        return [(f"data.mixture.{i}", s) for i, s in enumerate(self.mixture)]


class OptimizerSpec(_Strict):
    """AdamW; weight decay applies to matrices (ndim >= 2) only, never to norms, biases or gates."""

    name: Literal["adamw", "adam", "sgd"] = "adamw"
    lr: pydantic.PositiveFloat = 1e-3
    b1: float = pydantic.Field(0.9, ge=0, lt=1)
    b2: float = pydantic.Field(0.95, ge=0, lt=1)
    eps: pydantic.PositiveFloat = 1e-8
    weight_decay: pydantic.NonNegativeFloat = 0.01


class ScheduleSpec(_Strict):
    """Learning-rate schedule: `constant`, or linear warm-up then cosine decay to `min_lr_ratio * lr`."""

    kind: Literal["constant", "cosine"] = "cosine"
    warmup_steps: pydantic.NonNegativeInt = 0
    min_lr_ratio: float = pydantic.Field(0.1, ge=0.0, le=1.0)


class LossSpec(_Strict):
    """One training objective on one of the model's outputs.

    `next_token`: cross-entropy of `logits [B, S, V]` predicting `targets [B, T]`
    shifted by one; with an early-fusion prefix (`S > T`) only the last `T`
    positions are text. Padding targets (id 0) are ignored, and so are targets
    where `mask` (a bool batch field such as a chat response mask) is False, and
    with `segment_ids` (packed rows) a target whose segment differs from its input's.
    `classification`: cross-entropy of `logits [B, C]` against `targets [B]`.
    """

    type: Literal["next_token", "classification"]
    logits: str = pydantic.Field(description="PATHWAY.PORT of the logits")
    targets: str = pydantic.Field(description="batch.FIELD holding the targets")
    mask: str | None = pydantic.Field(None, description="next_token only: batch.FIELD, bool [B, T]; the loss counts only targets where it is True")
    segment_ids: str | None = pydantic.Field(None, description="next_token only: batch.FIELD of packed segment ids; no target is predicted across a segment boundary")
    weight: pydantic.PositiveFloat = 1.0


class LoRASpec(_Strict):
    """Deprecated: `train.lora: {pathway, rank, alpha}` is read as `trainable: [pathway]` with a `lora` adapter."""

    pathway: str
    rank: pydantic.PositiveInt = 8
    alpha: pydantic.PositiveFloat = 16.0


class AdapterSpec(_Strict):
    """How the trainable pathways train: a registered adapter (`lora`, or a plugin's) and its config."""

    type: str = pydantic.Field(description="registered adapter type (`pathways plugins` lists them)")
    config: dict[str, Any] = pydantic.Field({}, description="the adapter's settings, checked against its Config")


class InitSpec(_Strict):
    """Pathways whose starting weights come from one checkpoint (its pathways of the same names)."""

    checkpoint: str = pydantic.Field(description="checkpoint or run directory, relative to this config file's folder")
    pathways: list[str] | None = pydantic.Field(None, description="which of its pathways to load (default: every one this graph has)")


class TrainSpec(_Strict):
    """How to train: steps, what is trainable, optimisation, losses, logging and checkpoints.

    The batch size and sequence length are the config's `dims` (the `batch` shapes).
    `trainable` says which pathways train; `adapter` says how (default: their own weights).
    """

    steps: pydantic.PositiveInt = 100
    seed: int = 0
    trainable: list[str] | None = pydantic.Field(None, description="pathways to train; the rest is frozen (default: all)")
    adapter: AdapterSpec | None = pydantic.Field(None, description="train an adapter on the trainable pathways instead of their weights")
    lora: LoRASpec | None = pydantic.Field(None, description="deprecated: use trainable [PATHWAY] with adapter {type: lora, config: {rank, alpha}}")
    init_from: list[InitSpec] | None = pydantic.Field(
        None, min_length=1, description="starting weights from several checkpoints (one `--from` for all pathways does the same from one)"
    )
    optimizer: OptimizerSpec = OptimizerSpec()
    schedule: ScheduleSpec = ScheduleSpec()
    grad_clip: pydantic.PositiveFloat | None = 1.0
    grad_accum: pydantic.PositiveInt = pydantic.Field(1, description="micro-batches per optimizer step")
    compute_dtype: Literal["float32", "bfloat16"] = "float32"
    losses: list[LossSpec] = pydantic.Field(min_length=1)
    log_every: pydantic.PositiveInt = 10
    eval_every: pydantic.NonNegativeInt = 0
    checkpoint_every: pydantic.PositiveInt = 100
    keep_checkpoints: pydantic.PositiveInt = 3

    @pydantic.model_validator(mode="after")
    def _one_selection(self):
        """What trains is said once: the deprecated `lora` becomes `trainable` plus a `lora` adapter."""
        if self.lora is None:
            return self
        lora = self.lora
        if self.adapter is not None:
            raise ValueError(f"train.lora conflicts with train.adapter {self.adapter.type!r}: give one (train.lora is deprecated; keep train.adapter)")
        if self.trainable is not None and self.trainable != [lora.pathway]:
            raise ValueError(
                f"train.trainable {self.trainable} conflicts with train.lora.pathway {lora.pathway!r}: with LoRA only "
                f"the adapters on train.lora.pathway train; drop train.trainable (or make it [{lora.pathway}])"
            )
        self.trainable, self.lora = [lora.pathway], None
        self.adapter = AdapterSpec(type="lora", config={"rank": lora.rank, "alpha": lora.alpha})
        return self


class PartitionRule(_Strict):
    """Split parameters whose `<pathway>.<path>` matches `match` (a regex) as `spec` says, per trailing dimension."""

    match: str
    spec: list[Literal["data", "fsdp", "tensor"] | None]

    @pydantic.field_validator("match")
    @classmethod
    def _regex(cls, match: str):
        try:
            re.compile(match)
        except (re.error, OverflowError, RecursionError) as exc:  # `a{99999999999}` overflows, `((((...))))` recurses
            raise ValueError(f"{match[:80]!r} is not a valid regular expression: {str(exc) or type(exc).__name__}") from None
        return match


class MeshSpec(_Strict):
    """The device mesh: axis sizes (`-1` for the rest of the devices) and partition rules before the defaults."""

    axes: dict[str, int] = pydantic.Field({"data": -1}, description="data / fsdp / tensor sizes; their product is the device count")
    rules: list[PartitionRule] = pydantic.Field([], description="override the default partition rules (first match wins)")


class ModelConfig(_Strict):
    """A Pathways model config file."""

    extends: str | None = pydantic.Field(None, description="base config to deep-merge this file onto (path relative to this file)")
    remove: list[str] = pydantic.Field([], description="pathways of the base config to drop")
    name: str = "model"
    description: str = ""
    tokenizer: str | None = pydantic.Field(
        None,
        description="`bytes`, or a SentencePiece .model file (path relative to this config file); "
        "every pathway config's vocab_size must match its vocabulary",
    )
    dims: dict[str, pydantic.PositiveInt] = pydantic.Field(
        {}, description="sizes of the symbolic dimensions used in batch shapes (e.g. B, T), for validation"
    )
    batch: dict[str, FieldSpec] = pydantic.Field(description="fields every batch holds, with shapes and dtypes")
    pathways: dict[str, PathwaySpec] = pydantic.Field(description="the graph's nodes, by name")
    mesh: MeshSpec | None = pydantic.Field(None, description="shard parameters and batches over a device mesh")
    data: DataSpec | None = pydantic.Field(None, description="training data (needed by `pathways train`)")
    train: TrainSpec | None = pydantic.Field(None, description="training settings (needed by `pathways train`)")
    outputs: list[str] | None = pydantic.Field(
        None, description="PATHWAY.PORT values the model returns (default: every output of every pathway nothing consumes)"
    )

    @pydantic.field_validator("pathways")
    @classmethod
    def _names(cls, pathways: dict[str, PathwaySpec]):
        for name in pathways:
            if not NAME.match(name) or name in RESERVED:
                raise ValueError(f"{name!r} is not a valid pathway name (letters, digits, _ and -; not 'batch')")
        return pathways
