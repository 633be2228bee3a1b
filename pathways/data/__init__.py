"""Data: datasets (registered through plugins), tokenizers and batching."""

from pathways.data._batcher import Batcher
from pathways.data._dataset import Dataset, DatasetConfig
from pathways.data._sentencepiece import SentencePieceTokenizer, TokenizerError, load_tokenizer, train_sentencepiece
from pathways.data._tokenizer import ByteTokenizer

__all__ = ["Batcher", "ByteTokenizer", "Dataset", "DatasetConfig", "SentencePieceTokenizer", "TokenizerError", "load_tokenizer", "train_sentencepiece"]
