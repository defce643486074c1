"""A regular expression built from a trie of literal strings.

An alternation of hundreds of names makes Python's ``re`` try every alternative at every
position; nesting the alternatives by common prefix lets it reject a position after one
character, so matching a whole crawl of text against the gazetteer or the taxonomy stays
far cheaper than tokenising it.  Longer strings are preferred at each position.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any


def _pattern(node: dict[str, dict[str, Any]], terminal: str) -> str:
    branches = [
        re.escape(ch) + _pattern(child, terminal)
        for ch, child in sorted(node.items())
        if ch != terminal
    ]
    if not branches:
        return ""
    if terminal in node:  # a word ends here: the longer ones are optional (and greedy)
        return "(?:" + "|".join(branches) + ")?"
    return branches[0] if len(branches) == 1 else "(?:" + "|".join(branches) + ")"


def trie_regex(words: Iterable[str]) -> re.Pattern[str] | None:
    """A pattern matching any of ``words``, longest first at each position."""
    root: dict[str, dict[str, Any]] = {}
    terminal = ""
    count = 0
    for word in words:
        if not word:
            continue
        node = root
        for ch in word:
            node = node.setdefault(ch, {})
        node[terminal] = {}
        count += 1
    if not count:
        return None
    return re.compile(_pattern(root, terminal))
