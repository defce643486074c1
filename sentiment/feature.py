"""The public-opinion monitoring feature (网络舆情): crawl, analyse, search, signals."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sentiment.cli import opinions_group, sentiment_group
from sentiment.config import OpinionsSettings
from sentiment.search.cli import search_group
from sentiment.search.elasticsearch import ElasticsearchSearchStore
from sentiment.service import OpinionsService
from sentiment.web import bp, openapi_paths
from traceability.features import Feature, NavItem
from traceability.services import Services


def build(services: Services) -> OpinionsService:
    return OpinionsService(services.settings, services.store)


@dataclass(frozen=True, slots=True)
class Job:
    """A worker job of this feature (see :class:`traceability.features.Job`)."""

    id: str
    seconds: float
    call: Callable[[], Any]

    def run(self) -> Any:
        return self.call()


def jobs(services: Services) -> list[Job]:
    """Crawl the due sources; send documents that waited for Elasticsearch."""
    service: OpinionsService = services.feature("opinions")
    settings = services.settings.section("opinions", OpinionsSettings)
    found = [Job("opinions.crawl", settings.crawl_every_seconds, service.crawl_due_sources)]
    if isinstance(service.search, ElasticsearchSearchStore):
        flush = service.search.flush_queue
        found.append(Job("opinions.search-queue", settings.search_queue_every_seconds, flush))
    return found


feature = Feature(
    name="opinions",
    title="网络舆情",
    settings=OpinionsSettings,
    build=build,
    commands=lambda: [sentiment_group, opinions_group, search_group],
    blueprints=lambda: [bp],
    openapi_paths=lambda: {f"/api/v1{path}": spec for path, spec in openapi_paths().items()},
    nav=(NavItem("/opinions", "网络舆情", 40),),
    jobs=jobs,
)
