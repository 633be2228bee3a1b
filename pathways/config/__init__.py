"""Config files: safe YAML with `extends`/`remove`, validated by pydantic."""

from pathways.config._errors import pydantic_problems
from pathways.config._jsonschema import json_schema
from pathways.config._load import LoadedConfig, deep_merge, load_config, resolved_yaml
from pathways.config._schema import AdapterSpec, ChatSource, FieldSpec, LoRASpec, LossSpec, ModelConfig, PathwaySpec, ResponseMask, TrainSpec
from pathways.config._yaml import Mark, Path_, dotted, load_yaml

__all__ = [
    "AdapterSpec",
    "ChatSource",
    "FieldSpec",
    "LoRASpec",
    "LoadedConfig",
    "LossSpec",
    "Mark",
    "ModelConfig",
    "Path_",
    "PathwaySpec",
    "ResponseMask",
    "TrainSpec",
    "deep_merge",
    "dotted",
    "json_schema",
    "load_config",
    "load_yaml",
    "pydantic_problems",
    "resolved_yaml",
]
