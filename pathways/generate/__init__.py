"""Generation: key/value-cache decoding of composed models, sampling, prompt media."""

from pathways.components import MediaError
from pathways.generate._decode import generate_cached, generate_uncached
from pathways.generate._generator import GenerateError, Generation, Generator
from pathways.generate._plan import DecodePlan, MediaInput, media_inputs, plan_decoding
from pathways.generate._sampling import Sampling, sample

__all__ = [
    "DecodePlan",
    "GenerateError",
    "Generation",
    "Generator",
    "MediaError",
    "MediaInput",
    "Sampling",
    "generate_cached",
    "generate_uncached",
    "media_inputs",
    "plan_decoding",
    "sample",
]
