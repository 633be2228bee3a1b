"""Components: the pathway contract and the built-in pathways.

Each built-in module (`text`, `image`, `audio`, `fusion`, `decoder`, `heads`) is
also a plugin registering its classes through `pathways_register_components`.
"""

from pathways.components._base import KINDS, Component, ComponentConfig
from pathways.components._ports import Port
from pathways.components.audio import AudioEncoder
from pathways.components.decoder import GemmaDecoder
from pathways.components.fusion import EarlyFusion, LateFusion
from pathways.components.heads import ClassifierHead, LMHead
from pathways.components.image import ViTEncoder
from pathways.components.text import TokenEmbedding

__all__ = [
    "KINDS",
    "AudioEncoder",
    "ClassifierHead",
    "Component",
    "ComponentConfig",
    "EarlyFusion",
    "GemmaDecoder",
    "LMHead",
    "LateFusion",
    "Port",
    "TokenEmbedding",
    "ViTEncoder",
]
