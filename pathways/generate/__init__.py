"""Generation: key/value-cache decoding of composed models, sampling, prompt media."""

from pathways.generate._decode import generate_cached, generate_uncached
from pathways.generate._generator import GenerateError, Generation, Generator, media_fields
from pathways.generate._media import MediaError, load_audio, load_image
from pathways.generate._plan import DecodePlan, plan_decoding
from pathways.generate._sampling import Sampling, sample

__all__ = [
    "DecodePlan",
    "GenerateError",
    "Generation",
    "Generator",
    "MediaError",
    "Sampling",
    "generate_cached",
    "generate_uncached",
    "load_audio",
    "load_image",
    "media_fields",
    "plan_decoding",
    "sample",
]
