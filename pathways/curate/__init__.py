"""Data curation: stream JSON Lines through a chain of registered filters, with a report.

    from pathways.curate import curate_files, load_chain
    report = curate_files("raw.jsonl", "clean.jsonl", "report.json", chain=load_chain("filters.yaml"), workers=2)

Filters are plugins (`pathways_register_filters`); the built-ins live in
`pathways.curate.filters` (Gopher and C4 quality rules, language id, blocklist,
exact and MinHash dedup, a trained classifier). See docs/curation.md.
"""

from pathways.curate._chain import DEFAULT_CHAIN, Chain, Step, build_chain, load_chain, make_filter
from pathways.curate._classifier import Features, HashedNgramClassifier, read_labelled, train_classifier
from pathways.curate._filter import Filter, FilterConfig, check_filter
from pathways.curate._langid import detect_script, guess_latin_language, identify, script_counts
from pathways.curate._minhash import LSHIndex, MinHasher, jaccard
from pathways.curate._pipeline import Pipeline, curate_files

__all__ = [
    "Chain",
    "DEFAULT_CHAIN",
    "Features",
    "Filter",
    "FilterConfig",
    "HashedNgramClassifier",
    "LSHIndex",
    "MinHasher",
    "Pipeline",
    "Step",
    "build_chain",
    "check_filter",
    "curate_files",
    "detect_script",
    "guess_latin_language",
    "identify",
    "jaccard",
    "load_chain",
    "make_filter",
    "read_labelled",
    "script_counts",
    "train_classifier",
]
