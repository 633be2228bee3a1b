"""The plugin module: Pathways loads it through the `clips` entry point (see pyproject.toml)."""

from __future__ import annotations

from pathways import hookimpl
from pathways_clips._data import DigitClips
from pathways_clips._decoder import GPTDecoder
from pathways_clips._encoder import ClipEncoder
from pathways_clips._task import ClipCaption


@hookimpl
def pathways_register_components():
    return [ClipEncoder, GPTDecoder]


@hookimpl
def pathways_register_datasets():
    return [DigitClips]


@hookimpl
def pathways_register_tasks():
    return [ClipCaption]
