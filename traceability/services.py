"""The composition root: every service is built here, once, and closed here.

The app factory and the command line both call :func:`build_services`; nothing else
constructs a store, a ledger or a feature's service, so there is never a second instance
of anything over the same file.  :meth:`Services.close` releases everything in reverse
order of construction (the Flask app calls it at shutdown, the CLI at exit).
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from config import Settings
from traceability.analysis.compliance import ComplianceEngine, Ledger
from traceability.analysis.trace import TraceLimits, TraceService
from traceability.errors import ConfigurationError, NotFound
from traceability.features import Feature, enabled_features
from traceability.formats.archive import Archive, parse_key
from traceability.formats.privacy import PersonalDataHasher
from traceability.ingest.handlers import DocumentHandler
from traceability.ingest.ingestor import Ingestor
from traceability.store.factory import open_store
from traceability.store.port import GraphStore

log = logging.getLogger(__name__)


@dataclass
class Services:
    settings: Settings
    store: GraphStore
    hasher: PersonalDataHasher
    trace: TraceService
    ledger: Ledger
    compliance: ComplianceEngine
    features: tuple[Feature, ...] = ()
    _built: dict[str, Any] = field(default_factory=dict)
    _closers: list[Callable[[], None]] = field(default_factory=list)
    closed: bool = False

    def feature(self, name: str) -> Any:
        """A feature's service, built once by :func:`build_services`."""
        try:
            return self._built[name]
        except KeyError:
            raise NotFound(f"功能 {name} 未安装或已在设置中停用 (features.disabled)") from None

    def has_feature(self, name: str) -> bool:
        return name in self._built

    def health(self) -> dict[str, dict[str, Any]]:
        """Each feature service's ``health()`` parts (``{"search": {"status": …}}``)."""
        parts: dict[str, dict[str, Any]] = {}
        for built in self._built.values():
            check = getattr(built, "health", None)
            if callable(check):
                parts.update(check())
        return parts

    def document_handlers(self) -> list[DocumentHandler]:
        handlers: list[DocumentHandler] = []
        for feature in self.features:
            if feature.ingest is not None:
                handlers.extend(feature.ingest(self))
        return handlers

    def ingestor(self) -> Ingestor:
        return Ingestor(
            self.store,
            self.hasher,
            archive=Archive(
                self.settings.data_dir / "archive", parse_key(self.settings.privacy.archive_key)
            ),
            compliance=self.compliance,
            handlers=self.document_handlers(),
        )

    def on_close(self, closer: Callable[[], None]) -> None:
        self._closers.append(closer)

    def close(self) -> None:
        """Close every service, newest first; safe to call twice."""
        if self.closed:
            return
        self.closed = True
        while self._closers:
            closer = self._closers.pop()
            try:
                closer()
            except Exception:  # one failing close must not leak the others
                log.exception("closing a service failed")


def build_services(settings: Settings, features: tuple[Feature, ...] | None = None) -> Services:
    """Build the core services, then each enabled feature's, in dependency order."""
    if features is None:
        features = enabled_features(settings.features.disabled)
    store = open_store(settings)
    closers: list[Callable[[], None]] = [store.close]
    try:
        hasher = PersonalDataHasher.from_settings(settings.privacy.hash_key, settings.data_dir)
        limits = TraceLimits(settings.trace.max_depth, settings.trace.max_nodes)
        ledger = Ledger(settings.embedded_db_path)
        closers.append(ledger.close)
        checks = settings.checks
        compliance = ComplianceEngine(
            ledger,
            hasher,
            settings.limits,
            checks.amount_tolerance,
            dt.timedelta(hours=checks.partner_window_hours),
        )
        services = Services(
            settings, store, hasher, TraceService(store, limits), ledger, compliance, features,
            _closers=closers,
        )  # fmt: skip
        for feature in features:
            _build_feature(services, feature)
    except BaseException:
        for closer in reversed(closers):
            closer()
        raise
    return services


def _build_feature(services: Services, feature: Feature) -> None:
    if feature.settings is not None:
        try:
            services.settings.section(feature.name, feature.settings)
        except ValueError as exc:
            raise ConfigurationError(str(exc)) from None
    if feature.build is None:
        return
    built = feature.build(services)
    services._built[feature.name] = built
    close = getattr(built, "close", None)
    if callable(close):
        services.on_close(close)
