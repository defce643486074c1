"""The opinion search store port: the narrow interface a search engine adapter implements.

The embedded adapter is SQLite FTS5 in the graph's file (:mod:`sentiment.search.sqlite`);
an Elasticsearch adapter comes later and must give the same answers, so the port speaks
only in documents, filters, pages and counts, never in engine query syntax.

Times are timezone-aware datetimes; adapters store UTC.  Buckets of histograms and hourly
counts start on China Standard Time boundaries (UTC+8, no daylight saving), the days and
hours a regulator in the pilot zone reads.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Literal, Protocol, runtime_checkable

from traceability.errors import InvalidParameter

CST = dt.timezone(dt.timedelta(hours=8), "CST")
Sentiment = Literal["negative", "positive"]
Interval = Literal["hour", "day"]
SortOrder = Literal["time", "relevance"]


@dataclass(frozen=True, slots=True)
class Mention:
    """An entity mention: the graph node (or brand) it links to and the matched span."""

    label: str  # Product, Brand or Enterprise
    key: str
    name: str
    start: int
    end: int
    surface: str

    @property
    def entity(self) -> str:
        return f"{self.label}:{self.key}"


@dataclass(slots=True)
class OpinionDoc:
    doc_id: str
    url: str
    canonical_url: str
    source: str
    title: str
    text: str
    published: dt.datetime
    fetched: dt.datetime
    sentiment: Sentiment
    score: float  # P(positive)
    categories: list[str] = field(default_factory=list)
    rules: list[str] = field(default_factory=list)
    mentions: list[Mention] = field(default_factory=list)
    repost_of: str | None = None
    simhash: int = 0
    encoding: str = "utf-8"


@dataclass(frozen=True, slots=True)
class Filters:
    source: str | None = None
    entity: str | None = None  # "Label:key"
    sentiment: Sentiment | None = None
    category: str | None = None
    since: dt.datetime | None = None
    until: dt.datetime | None = None
    include_reposts: bool = False


@dataclass(frozen=True, slots=True)
class SearchQuery:
    text: str = ""
    filters: Filters = Filters()
    sort: SortOrder = "time"
    offset: int = 0
    limit: int = 20


@dataclass(slots=True)
class SearchHit:
    doc: OpinionDoc
    snippet: str
    highlights: list[tuple[int, int]]  # spans of the snippet that match the query
    relevance: float | None
    reposts: int


@dataclass(slots=True)
class SearchPage:
    total: int
    hits: list[SearchHit]


@dataclass(frozen=True, slots=True)
class Bucket:
    start: dt.datetime  # CST
    negative: int
    positive: int


@dataclass(frozen=True, slots=True)
class HourlyCount:
    """Original (non-repost) mentions of one entity in one category in one CST hour.

    ``category`` is ``"*"`` for all mentions of the entity, whatever their category.
    """

    entity: str
    category: str
    hour: dt.datetime
    count: int


class SearchQueryError(InvalidParameter):
    """The query text or a filter cannot be used (the message is zh-CN)."""


@runtime_checkable
class SearchStore(Protocol):
    def ensure_schema(self) -> None:
        """Create the store's tables and indexes (idempotent)."""

    def index(self, docs: Sequence[OpinionDoc]) -> None:
        """Insert or replace documents by ``doc_id``, atomically."""

    def get(self, doc_id: str) -> OpinionDoc | None: ...

    def reassign_reposts(self, old_original: str, new_original: str) -> int:
        """Make ``old_original`` and its reposts reposts of ``new_original`` (an earlier
        post that arrived later); returns how many documents changed."""

    def search(self, query: SearchQuery) -> SearchPage:
        """Full text (jieba tokens, all must match) with filters, sort and a page."""

    def histogram(self, filters: Filters, interval: Interval) -> list[Bucket]:
        """Mentions per CST hour or day, by sentiment, oldest first (empty buckets kept)."""

    def hourly_counts(
        self, since: dt.datetime, until: dt.datetime, sentiment: Sentiment
    ) -> list[HourlyCount]:
        """Per entity and category (and ``"*"``), per hour, non-zero counts only."""

    def count(self) -> int: ...

    def delete(self, doc_ids: Sequence[str]) -> int:
        """Remove documents by id; returns how many there were."""
        ...

    def close(self) -> None: ...
