"""Highlighted snippets computed on the original text, the same for every adapter.

FTS5's own ``snippet()`` works on the indexed form, which for Chinese is the text cut into
space-separated jieba tokens: unreadable to a regulator.  So the adapter finds the query
terms in the original text and cuts a window around the first one instead.
"""

from __future__ import annotations

from html import escape


def make_snippet(
    text: str, terms: list[str], width: int = 120
) -> tuple[str, list[tuple[int, int]]]:
    """A window of ``text`` around the first term, and the spans of all terms in it."""
    lowered = text.lower()
    terms = sorted({t.lower() for t in terms if t.strip()}, key=len, reverse=True)
    first = min((p for t in terms if (p := lowered.find(t)) >= 0), default=0)
    start = max(0, first - width // 3)
    end = min(len(text), start + width)
    start = max(0, min(start, end - width))
    snippet = text[start:end]
    prefix = "…" if start > 0 else ""
    suffix = "…" if end < len(text) else ""
    window = lowered[start:end]
    spans: list[tuple[int, int]] = []
    taken = [False] * len(window)
    for term in terms:
        pos = window.find(term)
        while pos >= 0:
            if not any(taken[pos : pos + len(term)]):
                spans.append((pos + len(prefix), pos + len(prefix) + len(term)))
                for i in range(pos, pos + len(term)):
                    taken[i] = True
            pos = window.find(term, pos + len(term))
    return prefix + snippet + suffix, sorted(spans)


def snippet_html(snippet: str, spans: list[tuple[int, int]]) -> str:
    """The snippet escaped, with ``<mark>`` around matches: scraped text never becomes markup."""
    parts: list[str] = []
    last = 0
    for start, end in spans:
        parts.append(escape(snippet[last:start]))
        parts.append(f"<mark>{escape(snippet[start:end])}</mark>")
        last = end
    parts.append(escape(snippet[last:]))
    return "".join(parts)
