"""The JSON form of a search hit, shared by ``qtrace opinions search --json`` and the API."""

from __future__ import annotations

from typing import Any

from sentiment.search.port import CST
from sentiment.search.snippet import snippet_html


def doc_json(hit: Any) -> dict[str, Any]:
    doc = hit.doc
    return {
        "id": doc.doc_id, "url": doc.url, "source": doc.source, "title": doc.title,
        "published": doc.published.astimezone(CST).isoformat(), "sentiment": doc.sentiment,
        "score": round(doc.score, 4), "categories": doc.categories, "rules": doc.rules,
        "entities": [{"entity": m.entity, "name": m.name, "span": [m.start, m.end],
                      "text": m.surface} for m in doc.mentions],
        "reposts": hit.reposts, "repostOf": doc.repost_of, "snippet": hit.snippet,
        "highlights": [list(s) for s in hit.highlights],
        "snippetHtml": snippet_html(hit.snippet, hit.highlights),
        "relevance": hit.relevance,
    }  # fmt: skip
