"""Interoperation with other frameworks' checkpoints (no torch needed to import or export them)."""

from pathways.interop.hf_export import HFExportError, export_hf, hf_config
from pathways.interop.hf_gemma import TEXT_FAMILIES, HFImportError, gemma_config, import_hf_gemma
from pathways.interop.hf_import import FAMILIES, import_hf

__all__ = ["FAMILIES", "HFExportError", "HFImportError", "TEXT_FAMILIES", "export_hf", "gemma_config", "hf_config", "import_hf", "import_hf_gemma"]
