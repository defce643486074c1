"""Risk categories from the configured taxonomy (假冒伪劣、安全隐患、食品安全 …).

A text is in a category when it contains one of the category's keywords.  A keyword right
after a negation ("没有异物", "无过敏", "不漏液") says the opposite and is not counted.
"""

from __future__ import annotations

from sentiment.analysis.trie import trie_regex
from sentiment.config import Category

NEGATIONS = ("没有", "没", "无", "未", "不", "非", "并无", "毫无")


class Taxonomy:
    def __init__(self, categories: list[Category]) -> None:
        self.names = {c.code: c.name for c in categories}
        self.by_keyword: dict[str, list[str]] = {}
        for category in categories:
            for keyword in category.keywords:
                self.by_keyword.setdefault(keyword.lower(), []).append(category.code)
        self.pattern = trie_regex(self.by_keyword)

    def categorise(self, text: str) -> list[str]:
        """Category codes in taxonomy order (each once)."""
        if self.pattern is None:
            return []
        lowered = text.lower()
        found: set[str] = set()
        for match in self.pattern.finditer(lowered):
            before = lowered[max(0, match.start() - 2) : match.start()]
            if any(before.endswith(neg) for neg in NEGATIONS):
                continue
            found.update(self.by_keyword[match.group()])
        return [code for code in self.names if code in found]
