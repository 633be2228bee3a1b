"""Config files: safe YAML with `extends`/`remove`, validated by pydantic."""

from pathways.config._jsonschema import json_schema
from pathways.config._load import LoadedConfig, deep_merge, load_config, resolved_yaml
from pathways.config._schema import FieldSpec, ModelConfig, PathwaySpec
from pathways.config._yaml import load_yaml

__all__ = ["FieldSpec", "LoadedConfig", "ModelConfig", "PathwaySpec", "deep_merge", "json_schema", "load_config", "load_yaml", "resolved_yaml"]
