"""Negation-aware polarity lexicon and negation scopes, shared by training and scoring.

Two things the n-gram model cannot learn from a corpus of book, hotel and shopping
reviews:

* product-safety vocabulary it has rarely or never seen ("结块", "漏电", "脂肪粒");
* negated complaints, which are praise: "没有异味", "一点也不油腻", "宝宝喝了不上火".
  Every n-gram of "不上火" contains "不" or "上火", both learned as negative.

:class:`Lexicon` finds the terms of a small hand-written lexicon
(``sentiment/data/product_lexicon.txt``) and flips a term's polarity when a negation word
stands shortly before it in the same clause, or "都没有 / 也没有" right after it.  Its two
counts (positive and negative evidence) are features of the classifier, so their weights
are learned on the corpus from the general words ("失望", "满意") and carry over to the
domain words the corpus lacks.

:func:`mark_negation` prefixes the jieba tokens in a negation's scope with ``~``, so
"不 / 油腻" gives the word feature "~油腻" rather than "油腻".
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from functools import lru_cache
from pathlib import Path

from sentiment.analysis.trie import trie_regex

LEXICON_FILE = Path(__file__).resolve().parent / "data" / "product_lexicon.txt"

# Negation words, with the look-alikes that are not negations left out: 不过 / 不仅 / 不少
# (but, not only, quite a few), 不到 / 没多久 / 没几天 ("用了不到一周就冒烟", "没两天就坏了":
# how soon, not a negation), 没想到 (surprisingly), 无论 / 无比, 特别 / 区别 / 分别.
_NEGATOR = (
    r"(?:不(?![过仅但少久断管论禁到])|没(?!想到|多久|几天|两天|过多久)|无(?![论比])|未|毫无|并非|绝非"
    r"|(?<![特区分差级类告识性个])别(?![人的家]))"
)
NEGATOR = re.compile(_NEGATOR)
# After a term, "(一点异味)都没有", "(什么毛病)也没"; at most two characters in between.
POST_NEGATION = re.compile(r"[^，。！？；,.!?;\s]{0,2}?[都也](?:没有|没)")
# A negation word with no clause break between it and the end of the window.
_BREAK = r"[，。！？；：,.!?;:\s~～…]|但|不过|可是|却|只是|就是"
NEGATED = re.compile(_NEGATOR + r"(?:(?!" + _BREAK + r").)*\Z")
WINDOW = 5  # characters before a term searched for a negation word

_NEGATOR_WORDS = (
    "不", "没", "没有", "无", "未", "别", "毫无", "并不", "并没有", "并非", "从不", "从没",
    "从未", "绝不", "决不", "不会", "不是", "不能", "不要", "不再", "不用", "不必", "不曾",
    "不太", "不怎么", "不算", "不够", "没什么", "没啥", "再也不", "一点也不", "一点都不",
    "都不", "也不", "都没", "也没", "都没有", "也没有", "还没", "还没有",
)  # fmt: skip
NEGATOR_TOKENS = frozenset(_NEGATOR_WORDS)
SCOPE_TOKENS = 3  # tokens after a negation word that it negates
_PUNCT = frozenset("，。！？；：、,.!?;:~～…()（）【】[]\"'“”‘’")
_CONTRAST = frozenset(("但", "但是", "不过", "可是", "却", "而是", "只是"))


_HEADINGS = {"[positive]": 1, "[negative]": -1, "[neutral]": 0}


def load_terms(path: Path = LEXICON_FILE) -> dict[str, int]:
    """Term -> +1, -1 or 0 (neutral) from the lexicon file; a later heading wins."""
    terms: dict[str, int] = {}
    polarity: int | None = None
    for raw in path.read_text(encoding="utf-8").splitlines():
        line = raw.split("#", 1)[0].strip()
        if not line:
            continue
        if line in _HEADINGS:
            polarity = _HEADINGS[line]
            continue
        if polarity is None:
            raise ValueError(f"{path}: 词条 {line!r} 前缺少 [positive]、[negative] 或 [neutral]")
        for term in line.split():
            terms[term.lower()] = polarity
    return terms


class Lexicon:
    def __init__(self, terms: dict[str, int]) -> None:
        self.terms = terms
        self.pattern = trie_regex(terms)

    def counts(self, prepared: str) -> tuple[int, int]:
        """(positive, negative) evidence in a prepared text, negation taken into account."""
        if self.pattern is None:
            return 0, 0
        positive = negative = 0
        previous_end = 0
        terms = self.terms
        for match in self.pattern.finditer(prepared):
            start, end = match.span()
            polarity = terms[match.group()]
            if not polarity:  # a neutral term only hides the shorter terms inside it
                previous_end = end
                continue
            if NEGATED.search(prepared, max(previous_end, start - WINDOW), start) or (
                POST_NEGATION.match(prepared, end)
            ):
                polarity = -polarity
            previous_end = end
            if polarity > 0:
                positive += 1
            else:
                negative += 1
        return positive, negative


@lru_cache(maxsize=2)
def load_lexicon(path: str = str(LEXICON_FILE)) -> Lexicon:
    return Lexicon(load_terms(Path(path)))


def mark_negation(tokens: Sequence[str]) -> Sequence[str]:
    """Non-space tokens, those within a negation's scope prefixed with "~"."""
    if NEGATOR_TOKENS.isdisjoint(tokens) and not any(map(str.isspace, tokens)):
        return tokens  # the common case, at C speed
    out: list[str] = []
    left = 0
    for token in tokens:
        if token.isspace():
            continue
        if token in _PUNCT or token in _CONTRAST:
            left = 0
            out.append(token)
        elif token in NEGATOR_TOKENS:
            left = SCOPE_TOKENS
            out.append(token)
        elif left:
            left -= 1
            out.append("~" + token)
        else:
            out.append(token)
    return out
