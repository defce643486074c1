"""``qtrace search migrate | reindex | queue`` end to end (ES runs need the test server)."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from sentiment.search.elasticsearch import ElasticsearchSearchStore
from sentiment.search.port import Filters, SearchQuery
from sentiment.search.sqlite import SQLiteSearchStore
from sentiment.text import add_user_words
from tests.test_search_contract import corpus, es_client, es_url, make_doc, unique_prefix
from traceability.app.cli import main

pytestmark = pytest.mark.filterwarnings("ignore::elasticsearch.ElasticsearchWarning")


@pytest.fixture
def env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("QTRACE_DATA_DIR", str(tmp_path / "var"))
    for name in ("QTRACE_GRAPH_URL", "QTRACE_CONFIG", "QTRACE_SEARCH_URL"):
        monkeypatch.delenv(name, raising=False)
    return tmp_path


def run(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(main, list(args))
    return result.exit_code, result.output


def test_migrate_embedded(env: Path) -> None:
    code, out = run("search", "migrate")
    assert code == 0, out
    assert "SQLite FTS5" in out
    code, out = run("search", "queue")
    assert code == 0 and "没有待写队列" in out


def test_reindex_refuses_bad_urls(env: Path) -> None:
    code, out = run("search", "reindex", "--from", "sqlite:///x.db", "--to", "sqlite:///x.db")
    assert code != 0 and "同一个" in out
    code, out = run("search", "reindex", "--from", f"sqlite:///{env}/none.db", "--to", "x")
    assert code != 0 and "不存在" in out
    source = SQLiteSearchStore(env / "a.db")
    source.ensure_schema()
    source.close()
    code, out = run("search", "reindex", "--from", f"sqlite:///{env}/a.db", "--to", "ftp://x")
    assert code == 11 and "--to" in out  # ConfigurationError


def test_reindex_between_embedded_files(env: Path) -> None:
    add_user_words(["奇维牧场"])
    source = SQLiteSearchStore(env / "a.db")
    source.ensure_schema()
    source.index(corpus())
    source.close()
    args = ("search", "reindex", "--from", f"sqlite:///{env}/a.db", "--to", f"sqlite:///{env}/b.db")
    for _ in range(2):  # idempotent: stable IDs
        code, out = run(*args, "--batch-size", "3")
        assert code == 0, out
        assert "已复制 copied 4 篇" in out and "数量一致" in out
    target = SQLiteSearchStore(env / "b.db")
    assert target.count() == 4 and target.get("d1") == corpus()[0]
    target.close()


def test_migrate_and_reindex_to_and_from_elasticsearch(
    env: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    add_user_words(["奇维牧场"])
    url = es_url()
    client = es_client()
    prefix = unique_prefix()
    monkeypatch.setenv("QTRACE_SEARCH_URL", url)
    monkeypatch.setenv("QTRACE_SEARCH_INDEX_PREFIX", prefix)
    store = ElasticsearchSearchStore(client, prefix=prefix)
    try:
        code, out = run("search", "migrate")
        assert code == 0, out
        assert f"{prefix}opinions-v1" in out and "新建索引" in out
        code, out = run("search", "migrate")
        assert code == 0 and "索引已存在" in out, out

        source = SQLiteSearchStore(env / "a.db")
        source.ensure_schema()
        source.index([*corpus(), *(make_doc(f"x{i}", "批量", f"第{i}篇") for i in range(30))])
        source.close()
        code, out = run("search", "reindex", "--from", f"sqlite:///{env}/a.db", "--to", url)
        assert code == 0, out
        assert "已复制 copied 34 篇" in out and "数量一致" in out
        assert store.count() == 34
        assert store.search(SearchQuery("结块", Filters(include_reposts=True))).total == 2
        assert store.get("d1") == corpus()[0]

        code, out = run("search", "reindex", "--from", url, "--to", f"sqlite:///{env}/c.db")
        assert code == 0, out
        back = SQLiteSearchStore(env / "c.db")
        assert back.count() == 34 and back.get("d4") == corpus()[3]
        back.close()

        code, out = run("search", "queue", "--flush")
        assert code == 0 and "待写 pending 0 项" in out, out
    finally:
        store.drop()
