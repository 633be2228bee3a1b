"""pathways-clips: a modality and a decoder the Pathways core does not ship, as a third party would add them."""

from pathways_clips._data import DigitClips
from pathways_clips._decoder import GPTDecoder
from pathways_clips._encoder import ClipEncoder
from pathways_clips._task import ClipCaption

__all__ = ["ClipCaption", "ClipEncoder", "DigitClips", "GPTDecoder"]
