"""Adapters: weight transforms that train in place of a pathway's weights, registered through `pathways_register_adapters`."""

from pathways.adapters._base import Adapter, AdapterConfig, check_adapter
from pathways.adapters.lora import LoRA, LoRAConfig, LoRALinear

__all__ = ["Adapter", "AdapterConfig", "LoRA", "LoRAConfig", "LoRALinear", "check_adapter"]
