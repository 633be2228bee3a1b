"""A fastText-style text classifier: hashed n-gram features, one linear layer, trained in JAX.

Features of a text (lower-cased, first `max_chars` characters): its words and
word bigrams, and its character 3- to 5-grams (spaces included, so word edges
count, as fastText's `<` `>` markers do), each hashed into one of `buckets`
rows. A document's logits are the mean of its features' weight rows plus a
bias: multinomial logistic regression over a bag of hashed n-grams (Joulin et
al. 2017 without the hidden layer). Training: Adam on the cross-entropy,
batches of padded feature-index arrays. Inference is NumPy only, so filters in
worker processes never start JAX.

A saved model is a directory: `model.safetensors` (`weights [buckets, classes]`,
`bias [classes]`, float32) and `config.json` (format, labels, feature settings,
training metrics). No pickle.
"""

from __future__ import annotations

import dataclasses
import json
import re
from pathlib import Path
from typing import Any, Callable, Iterable

import numpy as np

from pathways._errors import PathwaysError, Problem
from pathways._files import atomic_path, atomic_write_text
from pathways.curate._jsonl import iter_lines
from pathways.curate._text import mix64, ngram_hashes, string_hashes

FORMAT = "pathways-hashed-ngram-classifier"
_WORD = re.compile(r"\w+")


@dataclasses.dataclass(frozen=True)
class Features:
    """How texts become feature rows; saved with the model."""

    buckets: int = 2**18
    word_ngrams: tuple[int, ...] = (1, 2)
    char_ngrams: tuple[int, ...] = (3, 4, 5)
    max_chars: int = 10_000

    def __call__(self, text: str) -> np.ndarray:
        """Bucket indices of every feature of `text`, `[F]` int32 (F >= 1: an empty text has one)."""
        text = " ".join(text[: self.max_chars].lower().split())
        parts = []
        words = string_hashes(_WORD.findall(text), seed=1)  # [W]
        for n in self.word_ngrams:
            parts.append(ngram_hashes(words, n) ^ np.uint64(n))
        chars = np.frombuffer(f" {text} ".encode("utf-32-le", errors="surrogatepass"), dtype="<u4")  # [C]
        chars = mix64(chars.astype(np.uint64) + np.uint64(0x5EED))
        for n in self.char_ngrams:
            parts.append(ngram_hashes(chars, n) ^ np.uint64(100 + n))
        hashed = mix64(np.concatenate(parts)) if parts else np.zeros(0, dtype=np.uint64)
        if len(hashed) == 0:
            hashed = np.zeros(1, dtype=np.uint64)
        return (hashed & np.uint64(self.buckets - 1)).astype(np.int32)


def _softmax(logits: np.ndarray) -> np.ndarray:
    z = np.exp(logits - logits.max(axis=-1, keepdims=True))
    return z / z.sum(axis=-1, keepdims=True)


class HashedNgramClassifier:
    """Labels, feature settings and the linear layer; `predict_proba` runs in NumPy."""

    def __init__(self, labels: list[str], features: Features, weights: np.ndarray, bias: np.ndarray, info: dict | None = None):
        if weights.shape != (features.buckets, len(labels)) or bias.shape != (len(labels),):
            raise ValueError(f"weights {weights.shape} / bias {bias.shape} do not fit {features.buckets} buckets x {len(labels)} labels")
        self.labels, self.features = list(labels), features
        self.weights, self.bias = weights.astype(np.float32), bias.astype(np.float32)
        self.info = dict(info or {})

    def predict_proba(self, texts: Iterable[str]) -> np.ndarray:
        """`[N, classes]` probabilities, columns in `labels` order (NaN where the logits overflow)."""
        with np.errstate(over="ignore", invalid="ignore"):  # callers check: the classifier filter fails closed
            rows = [self.weights[self.features(t)].mean(axis=0) for t in texts]  # N x [classes]
            if not rows:
                return np.zeros((0, len(self.labels)), dtype=np.float32)
            return _softmax(np.stack(rows) + self.bias[None, :])

    def predict(self, texts: Iterable[str]) -> list[str]:
        return [self.labels[i] for i in self.predict_proba(texts).argmax(axis=1)]

    def accuracy(self, texts: list[str], labels: list[str]) -> float | None:
        """Fraction predicted right; None for no texts."""
        return float(np.mean([p == y for p, y in zip(self.predict(texts), labels)])) if texts else None

    def save(self, directory: str | Path) -> Path:
        """Write `model.safetensors` and `config.json` into `directory` (each file atomically)."""
        from safetensors.numpy import save_file

        directory = Path(directory)
        directory.mkdir(parents=True, exist_ok=True)
        config = {"format": FORMAT, "version": 1, "labels": self.labels, "features": dataclasses.asdict(self.features), **self.info}
        with atomic_path(directory / "model.safetensors") as tmp:
            save_file({"weights": self.weights, "bias": self.bias}, str(tmp))
        atomic_write_text(directory / "config.json", json.dumps(config, indent=2) + "\n")
        return directory

    @classmethod
    def load(cls, directory: str | Path) -> HashedNgramClassifier:
        """Read a directory written by `save`; a missing or foreign file is a `PathwaysError`."""
        from safetensors.numpy import load_file

        directory = Path(directory)
        try:
            config = json.loads((directory / "config.json").read_text())
            tensors = load_file(str(directory / "model.safetensors"))
        except (OSError, ValueError) as exc:
            raise PathwaysError([Problem("", f"not a saved classifier: {exc}", str(directory))]) from None
        where = str(directory)
        if not isinstance(config, dict) or config.get("format") != FORMAT:
            raise PathwaysError([Problem("", f"config.json is not a {FORMAT} model", where)])
        try:
            features = Features(**{k: tuple(v) if isinstance(v, list) else v for k, v in config.pop("features").items()})
            labels = [str(label) for label in config.pop("labels")]
            model = cls(labels, features, tensors["weights"], tensors["bias"], {k: v for k, v in config.items() if k not in ("format", "version")})
        except (KeyError, TypeError, AttributeError, ValueError) as exc:
            raise PathwaysError([Problem("", f"damaged classifier: {type(exc).__name__}: {exc}", where)]) from None
        bad = [name for name, x in (("weights", model.weights), ("bias", model.bias)) if not np.isfinite(x).all()]
        if bad:
            raise PathwaysError([Problem("", f"damaged classifier: non-finite values in {' and '.join(bad)}", where)])
        return model


def label_name(value: Any) -> str:
    """Labels are strings: `"spam"` stays, `1` becomes `"1"`, `true` becomes `"true"`."""
    return value if isinstance(value, str) else json.dumps(value)


def read_labelled(path: str | Path, text_field: str = "text", label_field: str = "label") -> tuple[list[str], list[str]]:
    """Texts and labels of a JSON Lines file; every bad line is one problem of the error raised."""
    texts, labels, problems = [], [], []
    for number, raw in iter_lines(path):
        try:
            doc = json.loads(raw) if raw.strip() else None
        except ValueError as exc:
            problems.append(Problem("", f"invalid JSON: {exc}", str(path), number))
            continue
        if doc is None:
            continue
        if not isinstance(doc, dict) or not isinstance(doc.get(text_field), str):
            problems.append(Problem("", f"no string {text_field!r} field", str(path), number))
        elif doc.get(label_field) is None:
            problems.append(Problem("", f"no {label_field!r} field", str(path), number))
        else:
            texts.append(doc[text_field])
            labels.append(label_name(doc[label_field]))
    if problems:
        raise PathwaysError(problems[:20] + ([Problem("", f"... and {len(problems) - 20} more bad lines", str(path))] if len(problems) > 20 else []))
    if not texts:
        raise PathwaysError([Problem("", "no labelled examples", str(path))])
    return texts, labels


def _padded(feats: list[np.ndarray], rows: int) -> tuple[np.ndarray, np.ndarray]:
    """`[rows, L]` indices and weights (1/len on real features, 0 on padding and on rows past the
    examples); L a power of two, so a few shapes compile."""
    width = 1 << max(4, (max(len(f) for f in feats) - 1).bit_length())
    idx = np.zeros((rows, width), dtype=np.int32)
    wts = np.zeros((rows, width), dtype=np.float32)
    for i, f in enumerate(feats):
        idx[i, : len(f)] = f
        wts[i, : len(f)] = 1.0 / len(f)
    return idx, wts


def train_classifier(
    texts: list[str],
    labels: list[str],
    *,
    features: Features = Features(),
    epochs: int = 5,
    batch_size: int = 32,
    learning_rate: float = 0.05,
    holdout: float = 0.1,
    seed: int = 0,
    log: Callable[[str], None] | None = None,
) -> tuple[HashedNgramClassifier, dict[str, Any]]:
    """Train on a random `1 - holdout` of the examples; returns the model and its metrics.

    Metrics: `train_accuracy`, `heldout_accuracy` (None without a held-out set),
    example counts and the label counts.
    """
    import jax
    import jax.numpy as jnp
    import optax

    if len(texts) != len(labels):
        raise ValueError(f"{len(texts)} texts but {len(labels)} labels")
    names = sorted(set(labels))
    if len(names) < 2:
        raise PathwaysError(f"need at least two distinct labels to train a classifier, got {names}")
    if features.buckets & (features.buckets - 1):
        raise PathwaysError(f"buckets must be a power of two, got {features.buckets}")
    if not 0 <= holdout < 1:
        raise PathwaysError(f"holdout must be in [0, 1), got {holdout}")
    if not (np.isfinite(learning_rate) and learning_rate > 0):
        raise PathwaysError(f"learning rate must be a positive finite number, got {learning_rate}")
    if epochs < 1 or batch_size < 1:
        raise PathwaysError(f"epochs and batch size must be at least 1, got {epochs} and {batch_size}")
    y = np.array([names.index(label) for label in labels], dtype=np.int32)
    order = np.random.default_rng(seed).permutation(len(texts))
    n_held = int(round(holdout * len(texts)))
    held, train = order[:n_held], order[n_held:]
    feats = [features(t) for t in texts]

    params = {"weights": jnp.zeros((features.buckets, len(names)), jnp.float32), "bias": jnp.zeros((len(names),), jnp.float32)}
    optimizer = optax.adam(learning_rate)
    opt_state = optimizer.init(params)

    def loss_fn(params, idx, wts, targets, real):
        logits = jnp.einsum("bl,blc->bc", wts, params["weights"][idx]) + params["bias"][None, :]  # [B, C]
        losses = optax.softmax_cross_entropy_with_integer_labels(logits, targets)  # [B]
        return (losses * real).sum() / real.sum()

    @jax.jit
    def step(params, opt_state, idx, wts, targets, real):
        loss, grads = jax.value_and_grad(loss_fn)(params, idx, wts, targets, real)
        updates, opt_state = optimizer.update(grads, opt_state, params)
        return optax.apply_updates(params, updates), opt_state, loss

    rng = np.random.default_rng(seed + 1)
    for epoch in range(epochs):
        losses = []
        shuffled = rng.permutation(train)
        for start in range(0, len(shuffled), batch_size):
            batch = shuffled[start : start + batch_size]  # the last one may be short: padded with masked rows
            idx, wts = _padded([feats[i] for i in batch], batch_size)
            targets = np.zeros(batch_size, dtype=np.int32)
            targets[: len(batch)] = y[batch]
            real = (np.arange(batch_size) < len(batch)).astype(np.float32)
            params, opt_state, loss = step(params, opt_state, idx, wts, targets, real)
            losses.append(loss)
        if log:
            log(f"epoch {epoch + 1}/{epochs}: loss {np.mean(jax.device_get(losses)):.4f}")

    weights, bias = np.asarray(params["weights"]), np.asarray(params["bias"])
    if not (np.isfinite(weights).all() and np.isfinite(bias).all()):
        raise PathwaysError(f"training diverged: the weights are not finite (learning rate {learning_rate}); nothing was saved")
    model = HashedNgramClassifier(names, features, weights, bias)
    texts_of = lambda ids: [texts[i] for i in ids]  # noqa: E731
    labels_of = lambda ids: [labels[i] for i in ids]  # noqa: E731
    metrics = {
        "train_accuracy": model.accuracy(texts_of(train), labels_of(train)),
        "heldout_accuracy": model.accuracy(texts_of(held), labels_of(held)),
        "train_examples": len(train),
        "heldout_examples": len(held),
        "label_counts": {name: int((y == i).sum()) for i, name in enumerate(names)},
        "epochs": epochs,
        "learning_rate": learning_rate,
        "seed": seed,
    }
    model.info = {"training": metrics}
    return model, metrics
