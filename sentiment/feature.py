"""The public-opinion monitoring feature (网络舆情): crawl, analyse, search, signals."""

from __future__ import annotations

from sentiment.cli import opinions_group, sentiment_group
from sentiment.config import OpinionsSettings
from sentiment.service import OpinionsService
from sentiment.web import bp, openapi_paths
from traceability.features import Feature, NavItem
from traceability.services import Services


def build(services: Services) -> OpinionsService:
    return OpinionsService(services.settings, services.store)


feature = Feature(
    name="opinions",
    title="网络舆情",
    settings=OpinionsSettings,
    build=build,
    commands=lambda: [sentiment_group, opinions_group],
    blueprints=lambda: [bp],
    openapi_paths=lambda: {f"/api/v1{path}": spec for path, spec in openapi_paths().items()},
    nav=(NavItem("/opinions", "网络舆情", 40),),
)
