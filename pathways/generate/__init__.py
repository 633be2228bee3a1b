"""Generation: key/value-cache decoding of composed models, sampling, prompt media."""

from pathways.components import MediaError
from pathways.generate._decode import generate_cached, generate_uncached
from pathways.generate._generator import GenerateError, Generation, Generator
from pathways.generate._route import DecodeRoute, MediaInput, decode_route, media_inputs
from pathways.generate._sampling import Sampling, sample

__all__ = [
    "DecodeRoute",
    "GenerateError",
    "Generation",
    "Generator",
    "MediaError",
    "MediaInput",
    "Sampling",
    "generate_cached",
    "generate_uncached",
    "media_inputs",
    "decode_route",
    "sample",
]
