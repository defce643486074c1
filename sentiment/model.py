"""The sentiment classifier at run time: a linear model over n-grams and a polarity lexicon.

The model is a plain table of weights (``sentiment/model/sentiment-v2.json.gz``), trained
offline by ``qtrace sentiment train``.  Scoring needs no numpy or scikit-learn: it is a
sum of dictionary look-ups over the text's features, so it costs a fraction of cutting
the text with jieba, which the pipeline does once and shares.

Features:

* counts of the character 1- and 2-grams of the normalised text — they carry negation
  ("不好", "没有") and survive jieba's segmentation mistakes on shop-talk; counted rather
  than deduplicated, so scoring is two C-level ``map`` passes over the text (character
  3-grams and binary character features scored no better on validation and cost more);
* jieba word unigrams and bigrams (binary), a word in a negation's scope marked with "~"
  ("不 / ~油腻", see :func:`sentiment.lexicon.mark_negation`);
* two lexicon features, log(1 + positive evidence) and log(1 + negative evidence) from the
  negation-aware product-quality lexicon (:mod:`sentiment.lexicon`), scaled by
  ``lexicon_scale`` so that regularisation leaves them their weight.
"""

from __future__ import annotations

import gzip
import json
import math
import operator
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from itertools import pairwise, repeat
from pathlib import Path
from typing import Any, Literal

from sentiment.lexicon import Lexicon, load_lexicon, mark_negation
from sentiment.text import tokenizer

MODEL_DIR = Path(__file__).resolve().parent / "model"
MODEL_FILE = MODEL_DIR / "sentiment-v2.json.gz"
FORMAT_VERSION = 2
WORD_SEP = "\x1f"  # joins the two words of a bigram; never occurs in text
LEXICON_SCALE = 3.0
_add = operator.add


def prepare(text: str) -> str:
    """The normalised form features are taken from: NFKC, lower case, no whitespace."""
    return "".join(unicodedata.normalize("NFKC", text).lower().split())


def char_features(prepared: str) -> list[str]:
    """Character 1- and 2-grams, repeats included (the model counts them)."""
    return [*prepared, *map(_add, prepared, prepared[1:])]


def word_features(tokens: Sequence[str]) -> set[str]:
    """Distinct word unigrams and bigrams, negated words marked (see ``mark_negation``)."""
    words = mark_negation(tokens)
    feats = set(words)
    feats.update(map(WORD_SEP.join, pairwise(words)))
    return feats


def lexicon_values(prepared: str, lexicon: Lexicon, scale: float) -> tuple[float, float]:
    positive, negative = lexicon.counts(prepared)
    return scale * math.log1p(positive), scale * math.log1p(negative)


def all_features(prepared: str, tokens: Sequence[str]) -> list[str]:
    """Prefixed features as the trainer counts them ("c" characters, "w" words)."""
    return ["c" + f for f in char_features(prepared)] + ["w" + f for f in word_features(tokens)]


@dataclass(frozen=True, slots=True)
class Prediction:
    label: Literal["negative", "positive"]
    score: float  # P(positive)

    def as_json(self) -> dict[str, Any]:
        return {"label": self.label, "score": round(self.score, 4)}


class SentimentModel:
    """Weights by feature, the lexicon weights, a bias, and the training metadata."""

    def __init__(
        self,
        char_weights: dict[str, float],
        word_weights: dict[str, float],
        lexicon_weights: tuple[float, float],
        bias: float,
        meta: dict[str, Any],
        lexicon: Lexicon | None = None,
        lexicon_scale: float = LEXICON_SCALE,
    ) -> None:
        self.char_weights = char_weights
        self.word_weights = word_weights
        self.lexicon_weights = lexicon_weights
        self.lexicon_scale = lexicon_scale
        self.bias = bias
        self.meta = meta
        self.lexicon = lexicon or load_lexicon()

    @classmethod
    def load(cls, path: str | Path = MODEL_FILE) -> SentimentModel:
        with gzip.open(path, "rt", encoding="utf-8") as handle:
            data = json.load(handle)
        if data.get("format") != FORMAT_VERSION:
            raise ValueError(f"情感模型 {path} 的格式版本 {data.get('format')} 不受支持")
        lexicon = data["lexicon"]
        return cls(
            data["char_weights"],
            data["word_weights"],
            (lexicon["positive"], lexicon["negative"]),
            data["bias"],
            data["meta"],
            lexicon_scale=lexicon["scale"],
        )

    def margin(self, prepared: str, tokens: Sequence[str]) -> float:
        """The linear score: log-odds of positive."""
        pos, neg = lexicon_values(prepared, self.lexicon, self.lexicon_scale)
        chars = self.char_weights.get
        return (
            self.bias
            + sum(map(chars, prepared, repeat(0.0)))
            + sum(map(chars, map(_add, prepared, prepared[1:]), repeat(0.0)))
            + sum(map(self.word_weights.get, word_features(tokens), repeat(0.0)))
            + pos * self.lexicon_weights[0]
            + neg * self.lexicon_weights[1]
        )

    def predict_tokens(self, prepared: str, tokens: Sequence[str]) -> Prediction:
        """Classify a prepared text (:func:`prepare`) given its jieba tokens."""
        m = self.margin(prepared, tokens)
        score = 1.0 / (1.0 + math.exp(-m)) if m > -500 else 0.0
        return Prediction("positive" if score >= 0.5 else "negative", score)

    def predict(self, text: str) -> Prediction:
        prepared = prepare(text)
        return self.predict_tokens(prepared, tokenizer().lcut(prepared))


@lru_cache(maxsize=4)
def load_model(path: str = str(MODEL_FILE)) -> SentimentModel:
    """The model, loaded once per process and path."""
    return SentimentModel.load(path)


def write_model(
    path: Path,
    weights: dict[str, float],
    lexicon_weights: tuple[float, float],
    bias: float,
    meta: dict[str, Any],
    lexicon_scale: float = LEXICON_SCALE,
) -> None:
    """Write deterministically: sorted keys, rounded weights, gzip without a timestamp."""
    data = {
        "format": FORMAT_VERSION,
        "meta": meta,
        "bias": round(bias, 5),
        "lexicon": {
            "positive": round(lexicon_weights[0], 5),
            "negative": round(lexicon_weights[1], 5),
            "scale": lexicon_scale,
        },
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
