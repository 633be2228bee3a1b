"""pathways-perceiver: Flamingo's Perceiver Resampler as the `perceiver_resampler` pathway.

Installing the package is all it takes: Pathways finds `pathways_perceiver.plugin`
through the `pathways` entry-point group, and configs use `type: perceiver_resampler`.
"""

from pathways_perceiver._resampler import PerceiverResampler, ResamplerLayer

__version__ = "0.1.0"

__all__ = ["PerceiverResampler", "ResamplerLayer"]
