"""Interoperation with other frameworks' checkpoints (no torch needed to import them)."""

from pathways.interop.hf_gemma import TEXT_FAMILIES, HFImportError, gemma_config, import_hf, import_hf_gemma

__all__ = ["HFImportError", "TEXT_FAMILIES", "gemma_config", "import_hf", "import_hf_gemma"]
