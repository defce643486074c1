"""Chinese tokenisation: one jieba tokenizer per process, with graph entity names added.

jieba's dictionary takes about a second to load, so :func:`tokenizer` builds it once and
every caller shares it.  Entity names from the graph (products, brands, enterprises and
their short forms) are added as user words so that "奇维牧场" stays one token instead of
"奇维 / 牧场": search then matches the whole name, and the name is never split into
words that carry sentiment of their own.
"""

from __future__ import annotations

import logging
import threading
import unicodedata
from collections.abc import Iterable

import jieba

_lock = threading.Lock()
_tokenizer: jieba.Tokenizer | None = None
_plain: jieba.Tokenizer | None = None
_user_words: set[str] = set()

jieba.setLogLevel(logging.WARNING)


def tokenizer() -> jieba.Tokenizer:
    """The process-wide jieba tokenizer (initialised on first use, once)."""
    global _tokenizer
    if _tokenizer is None:
        with _lock:
            if _tokenizer is None:
                tok = jieba.Tokenizer()
                tok.initialize()
                _tokenizer = tok
    return _tokenizer


def plain_tokenizer() -> jieba.Tokenizer:
    """A second tokenizer that never gets user words: training and its evaluation use it,
    so a model trained or checked in a process that also links entities is the same."""
    global _plain
    if _plain is None:
        with _lock:
            if _plain is None:
                tok = jieba.Tokenizer()
                tok.initialize()
                _plain = tok
    return _plain


def add_user_words(words: Iterable[str]) -> int:
    """Add entity names as user words (idempotent); returns how many were new."""
    tok = tokenizer()
    added = 0
    with _lock:
        for word in words:
            word = word.strip()
            if len(word) < 2 or word in _user_words or " " in word:
                continue
            # A high frequency makes jieba prefer the whole name over its parts.
            tok.add_word(word, freq=max(tok.suggest_freq(word, tune=False), 10_000))
            _user_words.add(word)
            added += 1
    return added


def normalise(text: str) -> str:
    """NFKC (full-width letters and digits to half-width) and collapsed whitespace."""
    return " ".join(unicodedata.normalize("NFKC", text).split())


def cut(text: str) -> list[str]:
    """Accurate-mode tokens without whitespace tokens."""
    return [t for t in tokenizer().lcut(text) if not t.isspace()]


def index_tokens(text: str) -> str:
    """The text as space-separated lower-case tokens, the form the FTS5 index stores."""
    return " ".join(t.lower() for t in cut(normalise(text)) if _is_word(t))


def _is_word(token: str) -> bool:
    return any(ch.isalnum() for ch in token)
