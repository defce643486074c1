"""The feature protocol and its registry: how a capability plugs into qtrace.

A feature (EPCIS events, opinions, risk, alerts, accounts, cases, statistics, the demo) is
a package that exposes one :class:`Feature` object.  The object says what the feature adds:

- ``settings``: a pydantic model for its section ``[<name>]`` of the settings tree;
- ``build``: its service, made once by the composition root from the core services and
  closed with them (anything with a ``close()`` method is closed, in reverse order);
- ``commands``: click commands or groups added to ``qtrace``;
- ``blueprints``: Flask blueprints added to the app, and ``openapi_paths`` for
  ``/api/v1/openapi.json``;
- ``nav``: entries of the console's navigation bar, ``examples``: one-click examples on
  the trace page, ``home``: the view that the console's front page ``/`` shows;
- ``ingest``: document handlers that ``qtrace ingest`` and the ingest API route files to;
- ``jobs``: scheduled jobs for ``qtrace worker`` (added by the risk feature's scheduler);
- ``setup_app``: a last look at the finished Flask app (the accounts feature installs its
  request guard there, so that it sees every endpoint of every feature).

Features are discovered from the ``qtrace.features`` entry-point group in
``pyproject.toml`` — the one registry, as pytest and Datasette do it.  The core names no
feature: adding one is a new package plus one line in that group.
"""

from __future__ import annotations

import functools
import importlib.metadata
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

from pydantic import BaseModel

from traceability.errors import ConfigurationError

if TYPE_CHECKING:  # annotations only: the composition root imports this module
    import click
    from flask import Blueprint, Flask

    from traceability.ingest.handlers import DocumentHandler
    from traceability.services import Services

ENTRY_POINT_GROUP = "qtrace.features"


@dataclass(frozen=True, slots=True)
class NavItem:
    """A console navigation entry: the endpoint's path and its zh-CN label."""

    path: str
    label: str
    order: int = 50


class Job(Protocol):
    """A scheduled job: a fixed id, an interval in seconds and the function to run."""

    @property
    def id(self) -> str: ...

    @property
    def seconds(self) -> float: ...

    def run(self) -> Any: ...


@dataclass(frozen=True)
class Feature:
    name: str
    title: str
    settings: type[BaseModel] | None = None
    build: Callable[[Services], Any] | None = None
    commands: Callable[[], Iterable[click.Command]] | None = None
    blueprints: Callable[[], Iterable[Blueprint]] | None = None
    openapi_paths: Callable[[], Mapping[str, Any]] | None = None
    nav: tuple[NavItem, ...] = ()
    ingest: Callable[[Services], Iterable[DocumentHandler]] | None = None
    jobs: Callable[[Services], Iterable[Job]] | None = None
    examples: Callable[[Services], Iterable[dict[str, Any]]] | None = None
    # The console's front page, a view function (the risk overview); the first feature in
    # the registry's order that has one gets ``/``.
    home: Callable[[], Any] | None = None
    # Called with the finished app (every blueprint registered): request guards, headers.
    setup_app: Callable[[Flask, Services], None] | None = None
    # Names of features whose service ``build`` needs first.
    requires: tuple[str, ...] = field(default=())


def _ordered(features: list[Feature]) -> list[Feature]:
    """Dependencies first (``requires``), otherwise by name for a stable order."""
    by_name = {f.name: f for f in features}
    done: dict[str, Feature] = {}

    def visit(feature: Feature, path: tuple[str, ...]) -> None:
        if feature.name in done:
            return
        if feature.name in path:
            raise ConfigurationError(f"功能之间循环依赖: {' → '.join((*path, feature.name))}")
        for name in feature.requires:
            if name not in by_name:
                raise ConfigurationError(f"功能 {feature.name} 依赖未安装的功能 {name}")
            visit(by_name[name], (*path, feature.name))
        done[feature.name] = feature

    for feature in sorted(features, key=lambda f: f.name):
        visit(feature, ())
    return list(done.values())


@functools.cache
def installed_features() -> tuple[Feature, ...]:
    """Every feature registered in the ``qtrace.features`` entry-point group."""
    found: list[Feature] = []
    for entry in importlib.metadata.entry_points(group=ENTRY_POINT_GROUP):
        feature = entry.load()
        if not isinstance(feature, Feature):
            raise ConfigurationError(f"入口点 {entry.value} 不是 Feature 对象")
        found.append(feature)
    names = [f.name for f in found]
    duplicates = {n for n in names if names.count(n) > 1}
    if duplicates:
        raise ConfigurationError(f"功能名称重复: {', '.join(sorted(duplicates))}")
    return tuple(_ordered(found))


def enabled_features(disabled: Iterable[str] = ()) -> tuple[Feature, ...]:
    """The installed features less those the settings switch off (``features.disabled``)."""
    off = set(disabled)
    return tuple(f for f in installed_features() if f.name not in off)
