"""Wiring: settings + graph store -> search store, crawl state, analyzer, crawler, signals.

One :class:`OpinionsService` per process (CLI command, web app, demo).  The sentiment
model and jieba load lazily, on first analysis, and once.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from config import Settings
from sentiment.analysis.pipeline import Analyzer
from sentiment.config import (
    OpinionsConfig,
    OpinionsSettings,
    SourceConfig,
    load_opinions_config,
)
from sentiment.crawl.crawler import Crawler, SourceRun
from sentiment.db import Database
from sentiment.search.elasticsearch import ElasticsearchSearchStore
from sentiment.search.select import open_search_store
from sentiment.signals import detect_spikes, record_signals, silent_source_signal
from sentiment.state import CrawlState, Signal
from traceability.errors import StoreUnavailable
from traceability.store.port import GraphStore

log = logging.getLogger(__name__)


class OpinionsService:
    def __init__(
        self,
        settings: Settings,
        store: GraphStore | None,
        config: OpinionsConfig | None = None,
        db_path: str | Path | None = None,
        clock: Callable[[], dt.datetime] = lambda: dt.datetime.now(dt.UTC),
    ) -> None:
        self.settings = settings
        self.graph = store
        self.config = config or load_opinions_config(
            settings.section("opinions", OpinionsSettings).config_file
        )
        self.db = Database(db_path or settings.embedded_db_path)
        self.search = open_search_store(settings, self.db)
        self.state = CrawlState(self.db)
        self.state.ensure_schema()
        try:
            self.search.ensure_schema()
        except StoreUnavailable as exc:
            # Start anyway: writes queue locally, searches answer 503 until it is back.
            log.warning("search store unavailable at start: %s", exc.detail)
        self.clock = clock
        self._analyzer: Analyzer | None = None

    @property
    def analyzer(self) -> Analyzer:
        if self._analyzer is None:
            self._analyzer = Analyzer.from_config(self.config, self.graph)
        return self._analyzer

    def crawler(self) -> Crawler:
        return Crawler(self.config, self.state, self.search, lambda: self.analyzer, self.clock)

    def crawl(
        self, sources: list[SourceConfig] | None = None, due_only: bool = False
    ) -> tuple[list[SourceRun], list[Signal]]:
        """Run the given (or all, or only the due) sources, then detect signals."""
        crawler = self.crawler()
        if sources is None:
            sources = (
                crawler.due_sources(self.clock())
                if due_only
                else [s for s in self.config.sources if s.enabled]
            )
        runs = [crawler.crawl_source(s) for s in sources]
        return runs, self.detect_signals(runs)

    def crawl_due_sources(
        self, now: dt.datetime | None = None
    ) -> tuple[list[SourceRun], list[Signal]]:
        """The scheduler's entry point: crawl what is due at ``now``, then detect signals."""
        crawler = self.crawler()
        runs = [crawler.crawl_source(s) for s in crawler.due_sources(now or self.clock())]
        return runs, self.detect_signals(runs)

    def detect_signals(self, runs: Sequence[SourceRun] = ()) -> list[Signal]:
        now = self.clock()
        try:
            found = detect_spikes(self.search, self.config, now)
        except StoreUnavailable as exc:  # crawled documents wait in the queue; try next round
            log.warning("spike detection skipped: %s", exc)
            found = []
        for run in runs:
            if run.state is not None:
                signal = silent_source_signal(
                    self.config, run.state, self.state.last_new_at(run.source), now
                )
                if signal:
                    found.append(signal)
        return record_signals(self.state, found)

    def search_health(self) -> dict[str, Any]:
        """The search store's part of the health endpoint."""
        if isinstance(self.search, ElasticsearchSearchStore):
            return self.search.health()
        return {"engine": "sqlite", "status": "ok"}

    def health(self) -> dict[str, Any]:
        """This feature's components for ``/api/v1/health`` (``status`` ok or unavailable)."""
        return {"search": self.search_health()}

    def close(self) -> None:
        if isinstance(self.search, ElasticsearchSearchStore):
            self.search.close()
        self.db.close()
