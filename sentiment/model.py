"""The sentiment classifier at run time: a linear model over word and character n-grams.

The model is a plain table of weights (``sentiment/model/sentiment-v1.json.gz``), trained
offline by ``qtrace sentiment train``.  Scoring needs no numpy or scikit-learn: it is a
sum of dictionary look-ups over the text's features, so it costs less than cutting the
text with jieba, which the pipeline does once and shares.

Features (binary, as NB-SVM style baselines use them for short reviews):

* character 1-, 2- and 3-grams of the normalised text — they carry negation ("不好",
  "不太好用") and survive jieba's segmentation mistakes on shop-talk;
* jieba word unigrams and bigrams.
"""

from __future__ import annotations

import gzip
import json
import math
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any, Literal

MODEL_DIR = Path(__file__).resolve().parent / "model"
MODEL_FILE = MODEL_DIR / "sentiment-v1.json.gz"
FORMAT_VERSION = 1
WORD_SEP = "\x1f"  # joins the two words of a bigram; never occurs in text


def prepare(text: str) -> str:
    """The normalised form features are taken from: NFKC, lower case, no whitespace."""
    return "".join(unicodedata.normalize("NFKC", text).lower().split())


def char_features(prepared: str) -> set[str]:
    n = len(prepared)
    feats = set(prepared)
    feats.update(prepared[i : i + 2] for i in range(n - 1))
    feats.update(prepared[i : i + 3] for i in range(n - 2))
    return feats


def word_features(tokens: Sequence[str]) -> set[str]:
    words = [t for t in tokens if not t.isspace()]
    feats = set(words)
    feats.update(a + WORD_SEP + b for a, b in zip(words, words[1:], strict=False))
    return feats


def all_features(prepared: str, tokens: Sequence[str]) -> list[str]:
    """Prefixed features as the trainer sees them ("c" characters, "w" words)."""
    return ["c" + f for f in char_features(prepared)] + ["w" + f for f in word_features(tokens)]


@dataclass(frozen=True, slots=True)
class Prediction:
    label: Literal["negative", "positive"]
    score: float  # P(positive)

    def as_json(self) -> dict[str, Any]:
        return {"label": self.label, "score": round(self.score, 4)}


class SentimentModel:
    """Weights by feature, a bias, and the metadata written at training time."""

    def __init__(
        self,
        char_weights: dict[str, float],
        word_weights: dict[str, float],
        bias: float,
        meta: dict[str, Any],
    ) -> None:
        self.char_weights = char_weights
        self.word_weights = word_weights
        self.bias = bias
        self.meta = meta

    @classmethod
    def load(cls, path: str | Path = MODEL_FILE) -> SentimentModel:
        with gzip.open(path, "rt", encoding="utf-8") as handle:
            data = json.load(handle)
        if data.get("format") != FORMAT_VERSION:
            raise ValueError(f"情感模型 {path} 的格式版本 {data.get('format')} 不受支持")
        return cls(data["char_weights"], data["word_weights"], data["bias"], data["meta"])

    def margin(self, prepared: str, tokens: Sequence[str]) -> float:
        cw = self.char_weights.get
        ww = self.word_weights.get
        total = self.bias
        for f in char_features(prepared):
            total += cw(f, 0.0)
        for f in word_features(tokens):
            total += ww(f, 0.0)
        return total

    def predict_tokens(self, prepared: str, tokens: Sequence[str]) -> Prediction:
        m = self.margin(prepared, tokens)
        score = 1.0 / (1.0 + math.exp(-m)) if m > -500 else 0.0
        return Prediction("positive" if score >= 0.5 else "negative", score)

    def predict(self, text: str) -> Prediction:
        from sentiment.text import tokenizer

        prepared = prepare(text)
        return self.predict_tokens(prepared, tokenizer().lcut(prepared))

    def predict_many(self, texts: Iterable[str]) -> list[Prediction]:
        return [self.predict(t) for t in texts]


@lru_cache(maxsize=4)
def load_model(path: str = str(MODEL_FILE)) -> SentimentModel:
    """The model, loaded once per process and path."""
    return SentimentModel.load(path)


def write_model(
    path: Path,
    weights: dict[str, float],
    bias: float,
    meta: dict[str, Any],
) -> None:
    """Write deterministically: sorted keys, rounded weights, gzip without a timestamp."""
    data = {
        "format": FORMAT_VERSION,
        "meta": meta,
        "bias": round(bias, 5),
        "char_weights": {k[1:]: round(v, 5) for k, v in sorted(weights.items()) if k[0] == "c"},
        "word_weights": {k[1:]: round(v, 5) for k, v in sorted(weights.items()) if k[0] == "w"},
    }
    raw = json.dumps(data, ensure_ascii=False, sort_keys=True, separators=(",", ":")).encode()
    path.parent.mkdir(parents=True, exist_ok=True)
    with (
        path.open("wb") as handle,
        gzip.GzipFile(filename="", mode="wb", fileobj=handle, mtime=0, compresslevel=9) as gz,
    ):
        gz.write(raw)
