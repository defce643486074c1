"""The crawler against a real local HTTP server: every robustness case has an outcome."""

from __future__ import annotations

import datetime as dt
import email.utils
import itertools
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from config import Settings
from sentiment.analysis import simhash as sh
from sentiment.config import (
    CrawlerSettings,
    OpinionsConfig,
    SignalSettings,
    SourceConfig,
    load_opinions_config,
)
from sentiment.crawl.encoding import decode
from sentiment.crawl.fetcher import Fetcher, FetchError
from sentiment.crawl.netguard import AddressPolicy, BlockedAddressError
from sentiment.crawl.throttle import HostThrottle
from sentiment.search.port import SearchQuery
from sentiment.service import OpinionsService
from traceability.demo.localsite import LocalSite, Response
from traceability.store.port import Node
from traceability.store.sqlite import SQLiteGraphStore

UA = "qtrace-test-crawler/1.0 (+opinions test)"
HTML = "text/html; charset=utf-8"
NOW = dt.datetime(2026, 11, 20, 12, 0, tzinfo=dt.UTC)
CRAWL_DELAY = 0.06


def page(
    title: str,
    body: str,
    charset: str = "utf-8",
    head: str = "",
    published: str = "2026-11-20T09:15:00+08:00",
) -> str:
    paragraphs = "".join(f"<p>{line}</p>" for line in body.split("\n"))
    return (
        f'<!doctype html><html><head><meta charset="{charset}"><title>{title}</title>'
        f'<meta property="article:published_time" content="{published}">{head}</head>'
        f"<body><nav>首页 投诉区</nav><article><h1>{title}</h1>{paragraphs}</article>"
        "<footer>本站内容仅供参考</footer></body></html>"
    )


COMPLAINT = (
    "上周在跨境平台买的奇维牧场婴儿配方奶粉1段，打开发现奶粉结块，还有一股酸臭味。\n"
    "宝宝喝了两次就开始拉肚子，去医院花了好几百。联系客服要求退款，客服一直推诿，"
    "说是我们保存不当。这么贵的进口奶粉质量这么差，大家千万别买了，太失望了！"
)
GBK_TEXT = (
    "艾风负离子电吹风用了不到一周就冒烟了，插头附近还有烧焦的味道，吓得我赶紧拔掉。\n"
    "联系商家说要寄回检测，来回折腾半个月也没有结果，质量太差，差点起火，大家注意安全。"
)
# 喆 is in GBK but not in GB2312: a page labelled GB2312 that uses it still decodes.
GB2312_TEXT = (
    "陶喆的粉丝推荐的樱生研保湿面霜，用完脸上红肿过敏，专柜说不是正品，退货也被拒绝，非常气愤。"
)
SCRIPT_TEXT = (
    "这款阿尔卑草场有机婴儿配方奶粉一直在喝，冲调方便不结块，宝宝很喜欢，物流也快。\n"
    "有人在评论里贴了 &lt;script&gt;alert('x')&lt;/script&gt; 这样的代码，大家别点。"
)


def rss(items: list[tuple[str, str]]) -> bytes:
    when = email.utils.format_datetime(NOW - dt.timedelta(hours=3))
    entries = "".join(
        f"<item><title>{t}</title><link>{link}</link><pubDate>{when}</pubDate></item>"
        for link, t in items
    )
    return (
        '<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel><title>投诉</title>'
        f"{entries}</channel></rss>"
    ).encode()


def etagged(body: bytes, etag: str, content_type: str = HTML):
    def route(headers: dict[str, str], hit: int) -> Response:
        if headers.get("if-none-match") == etag:
            return Response(304, b"", {"ETag": etag})
        return Response(200, body, {"Content-Type": content_type, "ETag": etag})

    return route


def flaky(headers: dict[str, str], hit: int) -> Response:
    if hit == 1:
        return Response(500, b"oops", {"Content-Type": "text/plain"})
    body = page(
        "吹风机漏电", "艾风电动剃须刀充电时漏电，手被电了一下，太危险了，质量问题严重，要求退货。"
    )
    return Response(200, body.encode(), {"Content-Type": HTML})


def huge() -> Iterator[bytes]:
    chunk = b"<p>" + "很长的页面".encode() * 70_000 + b"</p>"  # about 1 MiB
    for _ in range(20):
        yield chunk


ROUTES = {
    "/robots.txt": Response(
        200, b"User-agent: *\nDisallow: /private/\n", {"Content-Type": "text/plain"}
    ),
    "/posts/utf8.html": etagged(page("奶粉结块拉肚子", COMPLAINT).encode(), '"v1"'),
    "/posts/gbk.html": Response(
        200,
        page("电吹风冒烟", GBK_TEXT, charset="gbk").encode("gbk"),
        {"Content-Type": "text/html"},
    ),
    "/posts/gb2312.html": Response(
        200,
        page("面霜过敏", GB2312_TEXT, charset="gb2312").encode("gb18030"),
        {"Content-Type": "text/html"},
    ),
    "/posts/header-gbk.html": Response(
        200,
        page("头部声明GBK", GBK_TEXT.replace("一周", "十天"), charset="utf-8").encode("gbk"),
        {"Content-Type": "text/html; charset=GBK"},
    ),
    "/posts/repost.html": Response(
        200,
        page("【转】奶粉结块拉肚子", "转自妈妈论坛：\n" + COMPLAINT).encode(),
        {"Content-Type": HTML},
    ),
    "/posts/canonical.html": Response(
        200,
        page(
            "奶粉结块拉肚子", COMPLAINT, head='<link rel="canonical" href="/posts/utf8.html">'
        ).encode(),
        {"Content-Type": HTML},
    ),
    "/posts/script.html": Response(
        200,
        page("宝宝爱喝", SCRIPT_TEXT)
        .replace("</article>", "<script>document.title='pwned'</script></article>")
        .encode(),
        {"Content-Type": HTML},
    ),
    "/private/secret.html": Response(
        200, page("内部", "不应被抓取的内容" * 20).encode(), {"Content-Type": HTML}
    ),
    "/flaky.html": flaky,
    "/always500.html": Response(503, b"down", {"Content-Type": "text/plain"}),
    "/gone.html": Response(404, b"gone", {"Content-Type": "text/plain"}),
    "/slow.html": Response(
        200, page("慢", "很慢的页面" * 30).encode(), {"Content-Type": HTML}, delay=1.2
    ),
    "/loop-a": Response(302, b"", {"Location": "/loop-b"}),
    "/loop-b": Response(302, b"", {"Location": "/loop-a"}),
    "/huge.html": Response(200, huge, {"Content-Type": HTML}),
}
FEED_ITEMS = [
    ("/posts/utf8.html", "奶粉结块"), ("/posts/utf8.html?utm_source=rss", "奶粉结块（跟踪参数）"),
    ("/posts/gbk.html", "电吹风"), ("/posts/gb2312.html", "面霜"),
    ("/posts/header-gbk.html", "GBK"), ("/posts/repost.html", "转帖"),
    ("/posts/canonical.html", "同一篇"), ("/posts/script.html", "脚本"),
    ("/private/secret.html", "内部"), ("/flaky.html", "先500"), ("/always500.html", "一直503"),
    ("/gone.html", "404"), ("/slow.html", "慢"), ("/loop-a", "循环"), ("/huge.html", "20MB"),
]  # fmt: skip


def crawler_settings(**overrides: object) -> CrawlerSettings:
    values: dict[str, object] = {
        "user_agent": UA, "connect_timeout": 1.0, "read_timeout": 0.5, "max_body_bytes": 1_000_000,
        "max_redirects": 3, "retries": 1, "backoff_base": 0.01, "default_delay": 0.02,
        "max_delay": 0.5, "allow_private": ["127.0.0.1/32"],
    }  # fmt: skip
    values.update(overrides)
    return CrawlerSettings.model_validate(values)


def _site() -> LocalSite:
    running = LocalSite(dict(ROUTES)).start()
    running.routes["/feed.xml"] = etagged(
        rss([(running.url(p), t) for p, t in FEED_ITEMS]), '"feed-1"', "application/rss+xml"
    )
    return running


@pytest.fixture
def site() -> Iterator[LocalSite]:
    running = _site()
    yield running
    running.stop()


def make_service(
    tmp_path: Path, site: LocalSite, delay: float = 0.02, **signal_overrides: object
) -> OpinionsService:
    base = load_opinions_config()
    config = OpinionsConfig(
        crawler=crawler_settings(default_delay=delay),
        sources=[SourceConfig(name="测试RSS", kind="rss", url=site.url("/feed.xml"),
                              every_minutes=30)],
        categories=base.categories, watch_rules=base.watch_rules, brands=base.brands,
        signals=SignalSettings.model_validate({"silent_after_runs": 2, **signal_overrides}),
    )  # fmt: skip
    graph = SQLiteGraphStore(tmp_path / "qtrace.db")
    graph.ensure_schema()
    graph.upsert(
        [Node("Product", "06941234567892", {"name": "Kiwi Meadow 奇维牧场婴儿配方奶粉1段"})], []
    )
    return OpinionsService(Settings(data_dir=tmp_path), graph, config, clock=lambda: NOW)


@pytest.fixture(scope="module")
def crawled(tmp_path_factory: pytest.TempPathFactory):
    """One crawl of the whole fixture site, shared by the tests that read its outcome."""
    site = _site()
    # A politeness delay well above the scheduling jitter of a busy 2-core machine, so the
    # gaps measured on the server side say something (see the politeness test).
    service = make_service(tmp_path_factory.mktemp("crawl"), site, delay=CRAWL_DELAY)
    runs, _ = service.crawl()
    yield service, runs[0], site
    service.close()
    service.graph.close()
    site.stop()


def _by_path(service: OpinionsService, site: LocalSite, path: str):
    page_state = service.state.page(site.url(path))
    assert page_state is not None, path
    return page_state, (service.search.get(page_state.doc_id) if page_state.doc_id else None)


def test_utf8_page_stored_with_analysis(crawled) -> None:
    service, _run, site = crawled
    state, doc = _by_path(service, site, "/posts/utf8.html")
    assert doc is not None and doc.repost_of is None
    assert doc.title == "奶粉结块拉肚子" and "酸臭味" in doc.text and "首页" not in doc.text[:2]
    assert doc.sentiment == "negative" and doc.score < 0.5
    assert {"food_safety", "after_sales"} <= set(doc.categories)
    assert "婴配粉质量安全" in doc.rules
    assert [m.entity for m in doc.mentions] == ["Product:06941234567892"]
    assert doc.published == dt.datetime(2026, 11, 20, 1, 15, tzinfo=dt.UTC)
    assert state.etag == '"v1"'


@pytest.mark.parametrize(
    ("path", "expected"),
    [("/posts/gbk.html", GBK_TEXT), ("/posts/gb2312.html", GB2312_TEXT),
     ("/posts/header-gbk.html", GBK_TEXT.replace("一周", "十天"))],
)  # fmt: skip
def test_gbk_family_pages_decode_without_mojibake(crawled, path: str, expected: str) -> None:
    service, _run, site = crawled
    _, doc = _by_path(service, site, path)
    assert doc is not None
    assert doc.encoding == "gb18030"
    for line in expected.split("\n"):
        assert line in doc.text
    assert "\ufffd" not in doc.text and "锟斤拷" not in doc.text


def test_canonical_url_and_near_duplicates(crawled) -> None:
    service, run, site = crawled
    _, original = _by_path(service, site, "/posts/utf8.html")
    tracked, _ = _by_path(service, site, "/posts/utf8.html?utm_source=rss")
    canonical, _ = _by_path(service, site, "/posts/canonical.html")
    assert tracked.doc_id == canonical.doc_id == original.doc_id  # one document, three URLs
    _, repost = _by_path(service, site, "/posts/repost.html")
    assert repost.repost_of == original.doc_id
    assert run.counts["duplicate_url"] == 2 and run.counts["reposts"] == 1
    # A repost is not a new voice: default search shows the original once, with its repost.
    hits = service.search.search(SearchQuery("酸臭味")).hits
    assert [h.doc.doc_id for h in hits] == [original.doc_id] and hits[0].reposts == 1


def test_script_never_stored_as_code(crawled) -> None:
    service, _run, site = crawled
    _, doc = _by_path(service, site, "/posts/script.html")
    assert "pwned" not in doc.text  # the <script> element is not text
    assert "<script>alert('x')</script>" in doc.text  # escaped text stays text
    assert doc.sentiment == "positive"


def test_robots_disallow_is_honoured(crawled) -> None:
    _service, run, site = crawled
    assert "/private/secret.html" not in site.paths()
    assert run.counts["robots_disallowed"] == 1
    assert site.paths().count("/robots.txt") == 1


def test_retries_on_5xx_and_none_on_4xx(crawled) -> None:
    service, _run, site = crawled
    assert site.hits["/flaky.html"] == 2  # 500, then success
    assert _by_path(service, site, "/flaky.html")[1] is not None
    assert site.hits["/always500.html"] == 2  # one try + one retry, then given up
    assert site.hits["/gone.html"] == 1  # 4xx: never retried
    assert service.state.page(site.url("/gone.html")).status == 404


def test_timeouts_redirect_loops_and_huge_bodies_give_up(crawled) -> None:
    service, run, site = crawled
    assert run.counts["error_timeout"] == 1 and site.hits["/slow.html"] == 2
    assert run.counts["error_redirect_loop"] == 1
    assert run.counts["error_too_large"] == 1
    assert service.state.page(site.url("/huge.html")).doc_id is None


def test_politeness_user_agent_and_one_request_at_a_time(crawled) -> None:
    _service, _run, site = crawled
    assert {r.headers.get("user-agent") for r in site.requests} == {UA}
    # The crawler never has two requests open to the host.  (A request it abandoned on a
    # timeout may still be sleeping in the server, so those are left out.)
    done = sorted(
        (r.started, r.finished) for r in site.requests if r.path not in ("/slow.html", "/huge.html")
    )
    assert all(a_end <= b_start for (_, a_end), (b_start, _) in itertools.pairwise(done))
    starts = sorted(r.started for r in site.requests)
    gaps = [b - a for a, b in itertools.pairwise(starts)]
    # The per-host delay separates the requests.  The server stamps a request when it has
    # read it, and the server shares the process (and the GIL) with the crawler, so on a
    # busy 2-core machine one stamp can come tens of milliseconds late, shortening one gap
    # and lengthening the next.  So: nearly every gap keeps most of the delay, and together
    # the gaps keep all of it.
    assert sum(g >= CRAWL_DELAY / 2 for g in gaps) >= 0.85 * len(gaps), gaps
    assert starts[-1] - starts[0] >= CRAWL_DELAY * (len(starts) - 1) - 0.02


def test_state_survives_restart_and_uses_conditional_get(tmp_path: Path, site: LocalSite) -> None:
    first = make_service(tmp_path, site)
    first.crawl()
    first.close()
    first.graph.close()
    again = make_service(tmp_path, site)  # a new process: new connections, same file
    requests_before = len(site.requests)
    runs, _ = again.crawl()
    new = site.requests[requests_before:]
    feed = [r for r in new if r.path == "/feed.xml"]
    assert feed and feed[0].headers.get("if-none-match") == '"feed-1"'
    assert runs[0].counts["not_modified"] == 1 and runs[0].stats()["new_docs"] == 0
    assert "/posts/utf8.html" not in [r.path for r in new]  # known article not fetched again
    state = again.state.source("测试RSS")
    assert state.empty_runs == 1 and state.docs > 0
    again.close()
    again.graph.close()


def test_silent_source_raises_collection_health_signal(tmp_path: Path, site: LocalSite) -> None:
    service = make_service(tmp_path, site)
    service.crawl()
    _, signals = service.crawl()
    assert not [s for s in signals if s.kind == "silent_source"]
    _, signals = service.crawl()
    silent = [s for s in signals if s.kind == "silent_source"]
    assert len(silent) == 1 and silent[0].source == "测试RSS" and "连续 2 次" in silent[0].message
    _, signals = service.crawl()  # the same streak is reported once
    assert not [s for s in signals if s.kind == "silent_source"]
    assert len(service.state.signals(kind="silent_source")) == 1
    service.close()
    service.graph.close()


def test_due_sources_follow_the_schedule(tmp_path: Path, site: LocalSite) -> None:
    service = make_service(tmp_path, site)
    crawler = service.crawler()
    assert [s.name for s in crawler.due_sources(NOW)] == ["测试RSS"]
    service.crawl()
    assert crawler.due_sources(NOW + dt.timedelta(minutes=29)) == []
    assert [s.name for s in crawler.due_sources(NOW + dt.timedelta(minutes=30))] == ["测试RSS"]
    service.close()
    service.graph.close()


def test_private_addresses_refused_unless_allowlisted(site: LocalSite) -> None:
    policy = AddressPolicy(["127.0.0.1/32"])
    assert policy.resolve("127.0.0.1", 80) == "127.0.0.1"
    for host in (
        "10.0.0.1",
        "192.168.1.1",
        "169.254.169.254",
        "127.0.0.2",
        "::1",
        "::ffff:10.0.0.1",
    ):
        with pytest.raises(BlockedAddressError):
            policy.resolve(host, 80)
    with pytest.raises(BlockedAddressError):  # after DNS resolution too
        AddressPolicy(["127.0.0.2"]).resolve("localhost", 80)
    fetcher = Fetcher(crawler_settings(allow_private=[]))
    with pytest.raises(FetchError) as refused:
        fetcher.fetch(site.url("/posts/utf8.html"))
    assert refused.value.kind == "blocked_address"
    assert "/posts/utf8.html" not in site.paths()


def test_redirect_to_private_address_refused(site: LocalSite) -> None:
    site.routes["/to-private"] = Response(
        302, b"", {"Location": f"http://127.0.0.2:{site.port}/posts/utf8.html"}
    )
    with pytest.raises(FetchError) as refused:
        Fetcher(crawler_settings()).fetch(site.url("/to-private"))
    assert refused.value.kind == "blocked_address"


def test_too_many_redirects(site: LocalSite) -> None:
    for i in range(6):
        site.routes[f"/r{i}"] = Response(302, b"", {"Location": f"/r{i + 1}"})
    with pytest.raises(FetchError) as failed:
        Fetcher(crawler_settings(max_redirects=3)).fetch(site.url("/r0"))
    assert failed.value.kind == "too_many_redirects"
    assert site.hits.get("/r4", 0) == 0


def test_declared_content_length_over_limit_is_not_read(site: LocalSite) -> None:
    site.routes["/big"] = Response(200, b"x" * 2_000_000, {"Content-Type": HTML})
    with pytest.raises(FetchError) as failed:
        Fetcher(crawler_settings()).fetch(site.url("/big"))
    assert failed.value.kind == "too_large"


def test_adaptive_delay_follows_latency() -> None:
    throttle = HostThrottle(1, 0.1, 5.0)
    for _ in range(6):
        throttle.record("h", 2.0, ok=True)
    assert 1.5 < throttle.delay("h") <= 2.0
    for _ in range(12):
        throttle.record("h", 0.0, ok=True)
    assert throttle.delay("h") == pytest.approx(0.1, abs=0.01)
    throttle.record("h", 0.0, ok=False)  # an error never speeds the crawler up
    slow = throttle.delay("h")
    throttle.record("h", 4.0, ok=False)
    assert throttle.delay("h") > slow


def test_decode_prefers_header_then_meta_then_content() -> None:
    text = "质量安全追溯"
    assert decode(f'<meta charset="gbk">{text}'.encode("gbk"), "text/html") == (
        f'<meta charset="gbk">{text}',
        "gb18030",
    )
    assert decode(text.encode("gbk"), "text/html; charset=gb2312")[1] == "gb18030"
    body = ("<p>" + "跨境电商综合试验区的质量安全追溯与风险预警平台。" * 20 + "</p>").encode(
        "gb18030"
    )
    assert decode(body, None) == (body.decode("gb18030"), "gb18030")
    # A wrong declaration is not trusted into mojibake.
    assert decode(text.encode("utf-8"), "text/html; charset=gbk") == (text, "utf-8")


def test_slow_site_is_not_hammered(site: LocalSite) -> None:
    throttle = HostThrottle(1, 0.0, 1.0)
    fetcher = Fetcher(crawler_settings(read_timeout=3.0, retries=0), throttle)
    site.routes["/lag"] = Response(200, b"ok", {"Content-Type": "text/plain"}, delay=0.3)
    started = time.monotonic()
    fetcher.fetch(site.url("/lag"))
    fetcher.fetch(site.url("/lag"))
    assert throttle.delay(f"http://127.0.0.1:{site.port}") > 0.1
    assert time.monotonic() - started >= 0.6


def test_original_crawled_after_its_repost_takes_its_place(tmp_path: Path, site: LocalSite) -> None:
    """A repost found first (another board, an earlier feed item) is demoted when the
    older original arrives: the earliest published post is the voice that counts."""
    when = "2026-11-20T{}:00+08:00"
    site.routes["/late/repost-1.html"] = Response(
        200,
        page(
            "【转】奶粉结块", "转自妈妈论坛：\n" + COMPLAINT, published=when.format("10:00")
        ).encode(),
        {"Content-Type": HTML},
    )
    site.routes["/late/original.html"] = Response(
        200, page("奶粉结块拉肚子", COMPLAINT, published=when.format("08:00")).encode(),
        {"Content-Type": HTML},
    )  # fmt: skip
    site.routes["/late/repost-2.html"] = Response(
        200,
        page(
            "【转】奶粉结块", "转自宝妈群：\n" + COMPLAINT, published=when.format("11:00")
        ).encode(),
        {"Content-Type": HTML},
    )
    order = ["/late/repost-1.html", "/late/original.html", "/late/repost-2.html"]
    site.routes["/late/feed.xml"] = Response(
        200, rss([(site.url(p), p) for p in order]), {"Content-Type": "application/rss+xml"}
    )
    service = make_service(tmp_path, site)
    source = SourceConfig(name="转载在前", kind="rss", url=site.url("/late/feed.xml"))
    run = service.crawler().crawl_source(source)
    docs = {p: _by_path(service, site, p)[1] for p in order}
    original = docs["/late/original.html"]
    assert original.repost_of is None
    assert docs["/late/repost-1.html"].repost_of == original.doc_id
    assert docs["/late/repost-2.html"].repost_of == original.doc_id
    assert run.counts["originals_found_late"] == 1 and run.counts["reposts"] == 2
    hits = service.search.search(SearchQuery("酸臭味")).hits
    assert [h.doc.doc_id for h in hits] == [original.doc_id] and hits[0].reposts == 2
    # Only the original is indexed for near-duplicates from now on.
    assert service.state.near_duplicate(sh.simhash(COMPLAINT), 7) == original.doc_id
    service.close()
    service.graph.close()
