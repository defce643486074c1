"""Links to articles from a source: RSS/Atom items, sitemap entries, HTML list pages.

Feeds and sitemaps are parsed with lxml with entities, DTDs and network access disabled
(an XML bomb or an external entity must not reach the crawler's memory or network).
"""

from __future__ import annotations

import datetime as dt
import email.utils
import re
from dataclasses import dataclass
from urllib.parse import urljoin

from lxml import etree
from lxml import html as lxml_html

from sentiment.crawl.extract import parse_time

_PARSER = etree.XMLParser(
    resolve_entities=False, no_network=True, load_dtd=False, huge_tree=False, recover=True
)


@dataclass(frozen=True, slots=True)
class Link:
    url: str
    published: dt.datetime | None = None
    title: str = ""
    # What the link is: an article to fetch, or a further list page / sitemap to walk.
    kind: str = "article"


def _local(tag: object) -> str:
    return tag.rsplit("}", 1)[-1] if isinstance(tag, str) else ""


def _child_text(element: etree._Element, *names: str) -> str:
    for child in element:
        if _local(child.tag) in names and (child.text or "").strip():
            return child.text.strip()
    return ""


def _feed_time(text: str) -> dt.datetime | None:
    if not text:
        return None
    try:
        moment = email.utils.parsedate_to_datetime(text)  # RSS: RFC 822
    except (TypeError, ValueError):
        return parse_time(text)  # Atom: RFC 3339
    return moment if moment.tzinfo else moment.replace(tzinfo=dt.UTC)


def feed_links(body: bytes, base_url: str) -> list[Link]:
    """Items of an RSS 2.0 / RSS 1.0 / Atom feed, with their titles and dates."""
    root = etree.fromstring(body, _PARSER)
    if root is None:
        return []
    links: list[Link] = []
    for element in root.iter():
        name = _local(element.tag)
        if name == "item":
            url = _child_text(element, "link") or _child_text(element, "guid")
            when = _feed_time(_child_text(element, "pubDate", "date"))
        elif name == "entry":
            url = ""
            for child in element:
                if _local(child.tag) == "link" and child.get("rel", "alternate") == "alternate":
                    url = child.get("href", "")
                    break
            when = _feed_time(_child_text(element, "published", "updated"))
        else:
            continue
        if url:
            links.append(Link(urljoin(base_url, url), when, _child_text(element, "title")))
    return links


def sitemap_links(body: bytes, base_url: str) -> list[Link]:
    """``<url><loc>`` entries as articles, ``<sitemap><loc>`` entries as further sitemaps."""
    root = etree.fromstring(body, _PARSER)
    if root is None:
        return []
    links = []
    for element in root:
        name = _local(element.tag)
        loc = _child_text(element, "loc")
        if not loc:
            continue
        if name == "url":
            links.append(Link(urljoin(base_url, loc), parse_time(_child_text(element, "lastmod"))))
        elif name == "sitemap":
            links.append(Link(urljoin(base_url, loc), kind="list"))
    return links


def html_links(html_text: str, base_url: str, link_pattern: str, follow_pattern: str) -> list[Link]:
    """Anchors whose absolute URL matches ``link_pattern`` (articles) or ``follow_pattern``."""
    tree = lxml_html.fromstring(html_text)
    article = re.compile(link_pattern) if link_pattern else None
    follow = re.compile(follow_pattern) if follow_pattern else None
    seen: set[str] = set()
    links = []
    for anchor in tree.iter("a"):
        href = (anchor.get("href") or "").strip()
        if not href or href.startswith(("javascript:", "mailto:", "#")):
            continue
        url = urljoin(base_url, href).split("#", 1)[0]
        if url in seen:
            continue
        if article and article.search(url):
            seen.add(url)
            links.append(Link(url, None, anchor.text_content().strip()))
        elif follow and follow.search(url):
            seen.add(url)
            links.append(Link(url, kind="list"))
    return links
