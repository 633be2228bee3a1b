"""Data: datasets (registered through plugins), tokenizers and batching."""

from pathways.data._batcher import Batcher
from pathways.data._dataset import Dataset, DatasetConfig
from pathways.data._inspect import describe, open_dataset, summary, write_previews
from pathways.data._sentencepiece import DEFAULTS, SAMPLES, SentencePieceTokenizer, TokenizerError, check_ids, load_tokenizer, pieces, tokens_per_char, train_sentencepiece
from pathways.data._tokenizer import ByteTokenizer

__all__ = [
    "Batcher",
    "ByteTokenizer",
    "DEFAULTS",
    "Dataset",
    "DatasetConfig",
    "SAMPLES",
    "SentencePieceTokenizer",
    "TokenizerError",
    "check_ids",
    "describe",
    "load_tokenizer",
    "open_dataset",
    "pieces",
    "summary",
    "tokens_per_char",
    "train_sentencepiece",
    "write_previews",
]
