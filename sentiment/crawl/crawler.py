"""The crawler: sources -> links -> pages -> analysed, deduplicated, indexed documents.

A run of one source fetches its feed, sitemap or list page (conditionally), walks list
pages up to the source's ``max_depth``, and fetches each article it has not stored yet.
Each article is decoded (never as mojibake), extracted by trafilatura, deduplicated by
canonical URL, analysed, checked for near-duplicate reposts (kept, marked ``repost_of``
the original: the earliest published, even when a repost was crawled first) and indexed.
Everything it learns goes into the crawl state, so a restart continues with the same
ETags, the same known pages and the same per-source history.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urljoin

from sentiment.analysis import simhash as sh
from sentiment.analysis.pipeline import Analyzer
from sentiment.config import OpinionsConfig, SourceConfig
from sentiment.crawl import discover
from sentiment.crawl.encoding import UndecodableError, decode
from sentiment.crawl.extract import extract
from sentiment.crawl.fetcher import Fetcher, FetchError, FetchResult, host_key
from sentiment.crawl.robots import RobotsCache
from sentiment.crawl.urls import canonical_url
from sentiment.search.port import CST, OpinionDoc, SearchStore
from sentiment.state import CrawlState, SourceState

log = logging.getLogger(__name__)


def doc_id_for(canonical: str) -> str:
    return hashlib.sha1(canonical.encode()).hexdigest()[:16]


@dataclass(slots=True)
class SourceRun:
    source: str
    started: dt.datetime
    finished: dt.datetime | None = None
    counts: Counter[str] = field(default_factory=Counter)
    errors: list[str] = field(default_factory=list)
    new_doc_ids: list[str] = field(default_factory=list)
    source_error: str | None = None
    state: SourceState | None = None

    def stats(self) -> dict[str, Any]:
        return {
            **dict(sorted(self.counts.items())),
            "new_docs": len(self.new_doc_ids),
            "errors": self.errors[:20],
            "source_error": self.source_error,
        }


class Crawler:
    def __init__(
        self,
        config: OpinionsConfig,
        state: CrawlState,
        search: SearchStore,
        analyzer_factory: Callable[[], Analyzer],
        clock: Callable[[], dt.datetime] = lambda: dt.datetime.now(dt.UTC),
    ) -> None:
        self.config = config
        self.state = state
        self.search = search
        self._analyzer_factory = analyzer_factory
        self._analyzer: Analyzer | None = None
        self.clock = clock
        self.fetcher = Fetcher(config.crawler)
        self.robots = RobotsCache(self.fetcher, config.crawler.user_agent)

    @property
    def analyzer(self) -> Analyzer:
        if self._analyzer is None:
            self._analyzer = self._analyzer_factory()
        return self._analyzer

    # -- scheduling ----------------------------------------------------------------------

    def due_sources(self, now: dt.datetime) -> list[SourceConfig]:
        """Enabled sources whose last run started ``every_minutes`` or more before ``now``."""
        due = []
        for source in self.config.sources:
            if not source.enabled:
                continue
            state = self.state.source(source.name)
            last = state.last_started if state else None
            if last is None or now - last >= dt.timedelta(minutes=source.every_minutes):
                due.append(source)
        return due

    # -- one source ----------------------------------------------------------------------

    def crawl_source(self, source: SourceConfig) -> SourceRun:
        run = SourceRun(source.name, self.clock())
        if source.delay is not None:
            self.fetcher.throttle.set_floor(host_key(source.url), source.delay)
        budget = [self.config.crawler.max_pages_per_run]
        try:
            links = self._walk(source, run, budget)
        except FetchError as exc:
            run.source_error = f"{exc.kind}: {exc}"
            links = []
        for link in links:
            if budget[0] <= 0:
                run.counts["skipped_budget"] += 1
                continue
            self._article(source, link, run, budget)
        run.finished = self.clock()
        run.state = self.state.finish_run(source.name, run.started, run.finished, run.stats())
        log.info("source %s: %s", source.name, run.stats())
        return run

    def _get(self, url: str, source: str, run: SourceRun, budget: list[int]) -> FetchResult | None:
        """Fetch with robots, validators and state bookkeeping; None when skipped/failed."""
        if self.config.crawler.respect_robots and not self.robots.allowed(url):
            run.counts["robots_disallowed"] += 1
            self.state.record_page(url, source, self.clock(), status=None, error="robots")
            return None
        known = self.state.page(url)
        budget[0] -= 1
        try:
            result = self.fetcher.fetch(
                url, known.etag if known else None, known.last_modified if known else None
            )
        except FetchError as exc:
            run.counts[f"error_{exc.kind}"] += 1
            run.errors.append(f"{url}: {exc}")
            self.state.record_page(url, source, self.clock(), status=exc.status, error=exc.kind)
            raise
        run.counts["fetched"] += 1
        if result.not_modified:
            run.counts["not_modified"] += 1
        return result

    def _walk(self, source: SourceConfig, run: SourceRun, budget: list[int]) -> list[discover.Link]:
        """Article links of the source, walking list pages breadth-first to ``max_depth``."""
        articles: dict[str, discover.Link] = {}
        frontier = [(source.url, 0)]
        seen = {source.url}
        while frontier:
            url, depth = frontier.pop(0)
            try:
                result = self._get(url, source.name, run, budget)
            except FetchError:
                if depth == 0:
                    raise
                continue
            if result is None:
                if depth == 0:
                    raise FetchError("robots", f"robots.txt 不允许抓取信息源 {url}")
                continue
            self.state.record_page(
                url, source.name, self.clock(), status=result.status,
                etag=result.headers.get("etag"), last_modified=result.headers.get("last-modified"),
            )  # fmt: skip
            if result.not_modified:
                continue
            for link in self._links(source, result):
                if link.kind == "list":
                    if (
                        depth + 1 < source.max_depth + (source.kind != "html")
                        and link.url not in seen
                    ):
                        seen.add(link.url)
                        frontier.append((link.url, depth + 1))
                elif depth + 1 <= max(source.max_depth, 1):
                    articles.setdefault(link.url, link)
        return list(articles.values())

    def _links(self, source: SourceConfig, result: FetchResult) -> list[discover.Link]:
        if source.kind == "rss":
            return discover.feed_links(result.body, result.final_url)
        if source.kind == "sitemap":
            return discover.sitemap_links(result.body, result.final_url)
        text, _ = decode(result.body, result.headers.get("content-type"))
        return discover.html_links(
            text, result.final_url, source.link_pattern, source.follow_pattern
        )

    # -- one article ---------------------------------------------------------------------

    def _article(
        self, source: SourceConfig, link: discover.Link, run: SourceRun, budget: list[int]
    ) -> None:
        known = self.state.page(link.url)
        if known and known.doc_id and not (known.etag or known.last_modified):
            run.counts["already_stored"] += 1
            return
        try:
            result = self._get(link.url, source.name, run, budget)
        except FetchError:
            return
        if result is None or result.not_modified:
            return
        now = self.clock()
        validators = {
            "etag": result.headers.get("etag"),
            "last_modified": result.headers.get("last-modified"),
        }
        try:
            text, encoding = decode(result.body, result.headers.get("content-type"))
        except UndecodableError as exc:
            run.counts["error_undecodable"] += 1
            run.errors.append(f"{link.url}: {exc}")
            self.state.record_page(
                link.url, source.name, now, status=result.status, error="undecodable"
            )
            return
        extracted = extract(text, result.final_url)
        if extracted is None:
            run.counts["no_text"] += 1
            self.state.record_page(
                link.url, source.name, now, status=result.status, error="no_text", **validators
            )
            return
        canonical = canonical_url(urljoin(result.final_url, extracted.canonical or ""))
        existing = self.state.doc_for_canonical(canonical)
        doc_id = doc_id_for(canonical)
        if existing and not (known and known.doc_id == existing):
            run.counts["duplicate_url"] += 1
            self.state.record_page(
                link.url, source.name, now, status=result.status, canonical_url=canonical,
                doc_id=existing, **validators,
            )  # fmt: skip
            return
        title = extracted.title or link.title
        body = extracted.text
        if title and body.startswith(title):
            body = body[len(title) :].lstrip()
        analysis = self.analyzer.analyse(title, body)
        published = extracted.published or link.published or now
        if (
            link.published
            and published.astimezone(CST).time() == dt.time(0)
            and (published.astimezone(CST).date() == link.published.astimezone(CST).date())
        ):
            published = link.published  # the page gave a date only; the feed has the time
        fingerprint = sh.simhash(body)  # titles of reposts get "【转】" and the like
        match = (
            None
            if existing
            else self.state.near_original(fingerprint, self.config.near_duplicate_bits)
        )
        original = demoted = None
        if match and match[0] != doc_id:
            if published < match[1]:
                # The repost was crawled first (another source, another board): this post
                # is older, so it is the original and the stored one becomes its repost.
                demoted = match[0]
            else:
                original = match[0]
        doc = OpinionDoc(
            doc_id=doc_id, url=result.final_url, canonical_url=canonical, source=source.name,
            title=title, text=body, published=published, fetched=now,
            sentiment=analysis.sentiment.label, score=analysis.sentiment.score,
            categories=analysis.categories, rules=analysis.rules, mentions=analysis.mentions,
            repost_of=original, simhash=fingerprint, encoding=encoding,
        )  # fmt: skip
        self.search.index([doc])
        if original:
            run.counts["reposts"] += 1
        else:
            self.state.add_fingerprint(doc_id, fingerprint, published)
        if demoted:
            self.search.reassign_reposts(demoted, doc_id)
            self.state.remove_fingerprint(demoted)
            run.counts["reposts"] += 1
            run.counts["originals_found_late"] += 1
        if existing:
            run.counts["updated"] += 1
        else:
            run.new_doc_ids.append(doc_id)
        self.state.record_page(
            link.url, source.name, now, status=result.status, canonical_url=canonical,
            doc_id=doc_id, **validators,
        )  # fmt: skip
