"""Interoperation with other frameworks' checkpoints (no torch needed to import or export them)."""

from pathways.interop.hf_export import HFExportError, export_hf, hf_config
from pathways.interop.hf_gemma import TEXT_FAMILIES, HFImportError, gemma_config, import_hf, import_hf_gemma

__all__ = ["HFExportError", "HFImportError", "TEXT_FAMILIES", "export_hf", "gemma_config", "hf_config", "import_hf", "import_hf_gemma"]
