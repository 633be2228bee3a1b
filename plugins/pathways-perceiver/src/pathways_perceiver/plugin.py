"""The plugin module: Pathways loads it through the `perceiver` entry point (see pyproject.toml)."""

from __future__ import annotations

from pathways import hookimpl
from pathways_perceiver._resampler import PerceiverResampler


@hookimpl
def pathways_register_components():
    return [PerceiverResampler]
