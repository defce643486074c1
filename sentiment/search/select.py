"""Which search store: the embedded one, or Elasticsearch when ``search_url`` names it."""

from __future__ import annotations

from pathlib import Path

from config import Settings
from sentiment.db import Database
from sentiment.search.elasticsearch import ElasticsearchSearchStore, client_from_settings
from sentiment.search.queue import SearchQueue
from sentiment.search.sqlite import SQLiteSearchStore
from traceability.errors import ConfigurationError

SearchAdapter = SQLiteSearchStore | ElasticsearchSearchStore


def is_elasticsearch_url(url: str) -> bool:
    return url.startswith(("http://", "https://"))


def elasticsearch_store(
    url: str, settings: Settings, queue: SearchQueue | None = None
) -> ElasticsearchSearchStore:
    """An Elasticsearch store at ``url`` with the credentials and TLS options of settings."""
    client = client_from_settings(
        url,
        api_key=settings.search_api_key,
        username=settings.search_username,
        password=settings.search_password,
        verify_tls=settings.search_verify_tls,
        ca_file=settings.search_ca_file,
        timeout=settings.search_timeout,
    )
    return ElasticsearchSearchStore(client, prefix=settings.search_index_prefix, queue=queue)


def open_search_store(settings: Settings, db: Database) -> SearchAdapter:
    """The configured store; Elasticsearch writes queue in ``db`` while it is unreachable.

    Nothing is contacted here: the caller runs ``ensure_schema``, and an unreachable
    Elasticsearch then raises :class:`traceability.errors.StoreUnavailable`.
    """
    url = settings.search_url.strip()
    if not url:
        return SQLiteSearchStore(db)
    if not is_elasticsearch_url(url):
        raise ConfigurationError(
            f"QTRACE_SEARCH_URL={url!r} 无法识别；应为空（嵌入式检索）或 http(s)://主机:9200"
        )
    queue = SearchQueue(db)
    queue.ensure_schema()
    return elasticsearch_store(url, settings, queue)


def open_search_url(url: str, settings: Settings) -> SearchAdapter:
    """A store named on the command line: ``sqlite:///path`` or ``http(s)://host:9200``."""
    if url.startswith("sqlite:///"):
        return SQLiteSearchStore(Path(url.removeprefix("sqlite:///")))
    if is_elasticsearch_url(url):
        return elasticsearch_store(url, settings)
    raise ConfigurationError(
        f"检索存储 URL {url!r} 无法识别；应为 sqlite:///路径 或 http(s)://主机:9200"
    )
