"""JSON Schema of config files, with each registered component's config selected by `type`."""

from __future__ import annotations

from typing import Any

from pathways.config._schema import ModelConfig


def json_schema(registry) -> dict[str, Any]:
    """The config file schema; `pathways.<name>` is one of the registered component types."""
    schema = ModelConfig.model_json_schema()
    defs = schema.setdefault("$defs", {})
    spec = defs["PathwaySpec"]
    variants = []
    for entry in registry:
        cfg = entry.cls.Config.model_json_schema(ref_template=f"#/$defs/{entry.name}__{{model}}")
        for name, sub in cfg.pop("$defs", {}).items():
            defs[f"{entry.name}__{name}"] = sub
        variants.append(
            {
                "title": entry.name,
                "description": f"{entry.cls.kind} from plugin {entry.plugin}",
                "properties": {"type": {"const": entry.name}, "config": cfg},
            }
        )
    spec["oneOf"] = variants
    spec["properties"]["type"]["enum"] = [e.name for e in registry]
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    return schema
