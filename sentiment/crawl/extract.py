"""Main text, title and publish time of an article page, by trafilatura.

Hand-written regexes break on the next forum template; trafilatura is maintained against
thousands of them.  Its date module (htmldate) reads ``article:published_time``, JSON-LD,
``<time>`` and visible dates, with the time of day when the page gives one.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import trafilatura
from lxml import html as lxml_html

from sentiment.search.port import CST

_DATE_PARAMS = {
    "extensive_search": True,
    "original_date": True,
    "outputformat": "%Y-%m-%dT%H:%M:%S%z",
}


@dataclass(frozen=True, slots=True)
class Extracted:
    title: str
    text: str
    published: dt.datetime | None
    canonical: str | None


def extract(html_text: str, url: str) -> Extracted | None:
    """The article, or None when the page has no main text."""
    doc = trafilatura.bare_extraction(
        html_text, url=url, with_metadata=True, favor_recall=True, include_comments=False,
        include_tables=False, deduplicate=False, date_extraction_params=_DATE_PARAMS,
    )  # fmt: skip
    if doc is None or not (doc.text or "").strip():
        return None
    return Extracted(
        (doc.title or "").strip(),
        doc.text.strip(),
        parse_time(doc.date),
        _canonical_link(html_text),
    )


def parse_time(value: str | None) -> dt.datetime | None:
    """ISO-ish text to an aware datetime; a time without zone is China Standard Time."""
    if not value:
        return None
    for fmt in ("%Y-%m-%dT%H:%M:%S%z", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M:%S", "%Y-%m-%d"):
        try:
            moment = dt.datetime.strptime(value.strip(), fmt)
        except ValueError:
            continue
        return moment if moment.tzinfo else moment.replace(tzinfo=CST)
    try:
        moment = dt.datetime.fromisoformat(value.strip())
    except ValueError:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=CST)


def _canonical_link(html_text: str) -> str | None:
    try:
        tree = lxml_html.fromstring(html_text)
    except (ValueError, lxml_html.etree.ParserError):
        return None
    for href in tree.xpath("//link[@rel='canonical']/@href"):
        if href.strip():
            return href.strip()
    return None
