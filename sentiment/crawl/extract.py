"""Main text, title and publish time of an article page, by trafilatura.

Hand-written regexes break on the next forum template; trafilatura is maintained against
thousands of them.  Its date module (htmldate) reads ``article:published_time``, JSON-LD,
``<time>`` and visible dates, with the time of day when the page gives one.

Site chrome is removed before extraction: on a short post trafilatura's recall fallback
takes the whole ``<body>``, so the navigation ("首页 | 投诉与评价") and the footer would
otherwise become part of the post.  ``<nav>``, page-level ``<header>``/``<footer>``,
``<aside>``, the ARIA landmarks for them, elements named like navigation that are mostly
links, and short datelines ("发布于 …") are dropped first; if nothing is left, the page is
extracted as it came.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from typing import Any

import trafilatura
from lxml import etree
from lxml import html as lxml_html

from sentiment.search.port import CST

_DATE_PARAMS = {
    "extensive_search": True,
    "original_date": True,
    "outputformat": "%Y-%m-%dT%H:%M:%S%z",
}

# Always chrome, wherever they are.
_CHROME_TAGS = ("nav", "aside", "menu")
# Chrome when they belong to the page, not to the article (an article's own <header>
# carries its title and date).
_PAGE_TAGS = ("header", "footer")
_CHROME_ROLES = {"navigation", "banner", "contentinfo", "menu", "menubar", "search"}
# Whole class/id tokens only: "nav" matches class="nav top", never "canvas".
_CHROME_NAMES = re.compile(
    r"(?:^|[\s_-])(?:nav|navbar|navigation|menu|menubar|breadcrumbs?|crumbs|topbar|"
    r"site-?header|site-?footer|skip-?link)(?:$|[\s_-])",
    re.IGNORECASE,
)
# A post's dateline ("发布于 2026-11-20 09:30"): boilerplate in the text, but the date is
# still read (from the page as it came, when the cleaned page has none).
_DATELINE_NAMES = re.compile(
    r"(?:^|\s)(?:time|date|pubdate|post-?time|post-?date|byline|post-?meta|meta)(?:$|\s)",
    re.IGNORECASE,
)
_SENTENCE = re.compile(r"[。！？；!?;]")
_CONTENT = "self::article or self::main or descendant::article or descendant::main"


@dataclass(frozen=True, slots=True)
class Extracted:
    title: str
    text: str
    published: dt.datetime | None
    canonical: str | None


def extract(html_text: str, url: str) -> Extracted | None:
    """The article, or None when the page has no main text."""
    tree = _parse(html_text)
    doc = None
    if tree is not None and _strip_chrome(tree):
        doc = _bare(tree, url)
        if doc is not None and not doc.date:  # the date was only in what was removed
            doc.date = _date(html_text, url)
    if doc is None or not (doc.text or "").strip():  # nothing removed, or nothing left
        doc = _bare(html_text, url)
    if doc is None or not (doc.text or "").strip():
        return None
    return Extracted(
        (doc.title or "").strip(),
        doc.text.strip(),
        parse_time(doc.date),
        _canonical_link(html_text),
    )


def _bare(source: Any, url: str) -> Any:
    return trafilatura.bare_extraction(
        source, url=url, with_metadata=True, favor_recall=True, include_comments=False,
        include_tables=False, deduplicate=False, date_extraction_params=_DATE_PARAMS,
    )  # fmt: skip


def _date(html_text: str, url: str) -> str | None:
    meta = trafilatura.extract_metadata(html_text, default_url=url, date_config=_DATE_PARAMS)
    return meta.date if meta is not None else None


def _parse(html_text: str) -> Any:
    try:
        return lxml_html.fromstring(html_text)
    except (ValueError, etree.ParserError):
        try:  # a str with an XML encoding declaration: parse its bytes instead
            return lxml_html.fromstring(html_text.encode("utf-8"))
        except (ValueError, etree.ParserError):
            return None


def _is_chrome(element: Any) -> bool:
    tag = element.tag if isinstance(element.tag, str) else ""
    if tag in ("html", "head", "body", "article", "main"):
        return False
    if tag in _CHROME_TAGS:
        return True
    if tag in _PAGE_TAGS:
        return not element.xpath("ancestor::article or ancestor::main")
    if (element.get("role") or "").strip().lower() in _CHROME_ROLES:
        return True
    names = f"{element.get('class') or ''} {element.get('id') or ''}".strip()
    if not names:
        return False
    if _DATELINE_NAMES.search(names) is not None:
        return _no_sentence(element)
    return _CHROME_NAMES.search(names) is not None and _mostly_links(element)


def _no_sentence(element: Any) -> bool:
    text = "".join(element.itertext()).strip()
    return len(text) < 40 and not _SENTENCE.search(text)


def _mostly_links(element: Any) -> bool:
    """Navigation is mostly link text, or a few words with no sentence in them; a post
    wrapped in an element named like navigation ("menu-post") is neither."""
    text = "".join(element.itertext()).strip()
    links = "".join("".join(a.itertext()) for a in element.iter("a")).strip()
    return len(links) * 2 >= len(text) or _no_sentence(element)


def _strip_chrome(tree: Any) -> int:
    """Remove navigation and page boilerplate in place; the number of elements removed."""
    chrome = [
        el
        for el in tree.iter()
        if isinstance(el.tag, str) and _is_chrome(el) and not el.xpath(_CONTENT)
    ]
    for element in chrome:
        element.drop_tree()  # keeps the tail text, which belongs to the parent
    return len(chrome)


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
    tree = _parse(html_text)
    if tree is None:
        return None
    for href in tree.xpath("//link[@rel='canonical']/@href"):
        if href.strip():
            return href.strip()
    return None
