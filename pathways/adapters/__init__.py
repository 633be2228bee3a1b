"""Parameter-efficient adapters, registered through `pathways_register_adapters`."""

from pathways.adapters.lora import LoRA, LoRALinear

__all__ = ["LoRA", "LoRALinear"]
