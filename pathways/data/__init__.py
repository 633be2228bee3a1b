"""Data: datasets (registered through plugins), tokenizers and batching."""

from typing import TYPE_CHECKING

from pathways._lazy import attach

if TYPE_CHECKING:
    from pathways.data._batcher import Batcher, source_problems
    from pathways.data._chat import stop_ids
    from pathways.data._dataset import Dataset, DatasetConfig
    from pathways.data._inspect import describe, open_dataset, summary, write_previews
    from pathways.data._mixture import MixtureBatcher
    from pathways.data._packing import SEGMENT_FIELDS, PackedBatcher, packing_problems
    from pathways.data._sentencepiece import DEFAULTS, SAMPLES, SentencePieceTokenizer, TokenizerError, check_ids, load_tokenizer, pieces, tokens_per_char, train_sentencepiece
    from pathways.data._stats import stats
    from pathways.data._tokenizer import ByteTokenizer

__getattr__, __dir__, __all__ = attach(
    __name__,
    {
        "_batcher": ["Batcher", "source_problems"],
        "_chat": ["stop_ids"],
        "_dataset": ["Dataset", "DatasetConfig"],
        "_mixture": ["MixtureBatcher"],
        "_packing": ["SEGMENT_FIELDS", "PackedBatcher", "packing_problems"],
        "_inspect": ["describe", "open_dataset", "summary", "write_previews"],
        "_sentencepiece": ["DEFAULTS", "SAMPLES", "SentencePieceTokenizer", "TokenizerError", "check_ids", "load_tokenizer", "pieces", "tokens_per_char", "train_sentencepiece"],
        "_stats": ["stats"],
        "_tokenizer": ["ByteTokenizer"],
    },
)
