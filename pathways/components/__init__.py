"""Components: the pathway contract and the built-in pathways.

Each built-in module (`text`, `image`, `siglip`, `audio`, `projectors`, `fusion`,
`decoder`, `heads`) is also a plugin registering its classes through `pathways_register_components`.
"""

from pathways.components._base import KINDS, Component, ComponentConfig
from pathways.components._contract import check_component, check_contract, example_inputs
from pathways.components._cost import Blocks, Cost
from pathways.components._media import MediaError, load_audio, load_image
from pathways.components._ports import Port, describe_value
from pathways.components._roles import ROLES, Media
from pathways.components.audio import AudioEncoder
from pathways.components.decoder import GemmaDecoder
from pathways.components.fusion import EarlyFusion, LateFusion
from pathways.components.heads import ClassifierHead, LMHead
from pathways.components.image import ViTEncoder
from pathways.components.projectors import LinearProjector, PoolingProjector
from pathways.components.siglip import SiglipEncoder
from pathways.components.text import TokenEmbedding

__all__ = [
    "AudioEncoder",
    "Blocks",
    "ClassifierHead",
    "Component",
    "ComponentConfig",
    "Cost",
    "EarlyFusion",
    "GemmaDecoder",
    "KINDS",
    "LMHead",
    "LateFusion",
    "LinearProjector",
    "Media",
    "MediaError",
    "Port",
    "PoolingProjector",
    "ROLES",
    "SiglipEncoder",
    "TokenEmbedding",
    "ViTEncoder",
    "check_component",
    "check_contract",
    "describe_value",
    "example_inputs",
    "load_audio",
    "load_image",
]
