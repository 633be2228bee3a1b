"""Interoperation with other frameworks' checkpoints (no torch needed to import them)."""

from pathways.interop.hf_gemma import HFImportError, gemma_config, import_hf_gemma

__all__ = ["HFImportError", "gemma_config", "import_hf_gemma"]
