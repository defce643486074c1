"""The opinion demo end to end: a small world, its generated site crawled over real sockets."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from typing import Any

import pytest
from lxml import etree

from config.settings import load_settings
from sentiment.crawl.discover import sitemap_links
from sentiment.search.port import Filters, SearchQuery
from traceability.demo.generator.files import write_world
from traceability.demo.opinions import GBK_POSTS, SPIKE, build_site, run_demo
from traceability.ingest.ingestor import collect_files
from traceability.services import build_services

SEED = 20261127


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    """A 40-order world ingested into a tmp data dir, then ``run_demo`` once."""
    root = tmp_path_factory.mktemp("opinions-demo")
    settings = load_settings(environ={"QTRACE_DATA_DIR": str(root)})
    world = root / "world"
    manifest = write_world(40, SEED, world)
    services = build_services(settings)
    report = services.ingestor().ingest_paths(collect_files([world]))
    assert report.ok
    service = services.feature("opinions")
    summary = run_demo(settings, service, manifest, world)
    yield {"summary": summary, "manifest": manifest, "service": service, "store": services.store}
    services.close()


def _spike_product(manifest: dict[str, Any]) -> str:
    return manifest["stories"]["defective_lot"]["output_batches"][0].split(":", 1)[0]


def test_every_published_post_is_crawled_from_its_source(demo) -> None:
    summary = demo["summary"]
    runs = {run["source"]: run for run in summary["runs"]}
    assert len(runs) == 4 and all(run["source_error"] is None for run in runs.values())
    assert all(not run["errors"] for run in runs.values())
    assert summary["documents"] == summary["posts_published"]
    assert sum(run["new_docs"] for run in runs.values()) == summary["posts_published"]
    # The sitemap, crawled last, adds exactly the archived posts nothing else links to.
    sitemap = runs["跨境好物社区站点地图"]
    assert sitemap["new_docs"] == summary["archived_posts"] > 0
    assert sitemap["already_stored"] > 0


def test_gbk_board_decoded_without_mojibake(demo) -> None:
    service = demo["service"]
    page = service.search.search(
        SearchQuery(filters=Filters(source="老论坛(GBK)", include_reposts=True), limit=50)
    )
    assert page.total == len(GBK_POSTS) + len(SPIKE[2::3])
    for hit in page.hits:
        assert hit.doc.encoding == "gb18030"
        assert "\ufffd" not in hit.doc.text and "锟斤拷" not in hit.doc.text
    texts = "\n".join(hit.doc.text for hit in page.hits)
    assert "插头附近有烧焦的味道" in texts and "充电的时候机身发烫" in texts
    appliance = next(h for h in page.hits if "冒烟" in h.doc.text)
    assert appliance.doc.sentiment == "negative" and "safety_hazard" in appliance.doc.categories


def test_entity_links_and_spike_on_the_defective_lot_product(demo) -> None:
    summary, manifest = demo["summary"], demo["manifest"]
    entity = f"Product:{_spike_product(manifest)}"
    assert summary["spike_entity"] == entity
    # Every spike post links to the product, with the span of the name it used.
    page = demo["service"].search.search(
        SearchQuery(filters=Filters(entity=entity, sentiment="negative"), limit=50)
    )
    assert summary["negative_mentions_of_spike_entity"] == page.total >= len(SPIKE)
    for hit in page.hits:
        mention = next(m for m in hit.doc.mentions if m.entity == entity)
        assert (hit.doc.title + "\n" + hit.doc.text)[mention.start : mention.end] == (
            mention.surface
        )
    spikes = [s for s in summary["signals"] if s["kind"] == "spike"]
    assert spikes and {s["entity"] for s in spikes} == {entity}
    assert all(s["count"] >= len(SPIKE) and s["evidence"] for s in spikes)
    assert {"food_safety"} <= {s["category"] for s in spikes}
    # Reposts are the same voice: stored and marked, never counted in the spike.
    reposts = [
        h for h in demo["service"].search.search(
            SearchQuery(filters=Filters(entity=entity, include_reposts=True), limit=50)
        ).hits
        if h.doc.repost_of
    ]  # fmt: skip
    assert len(reposts) >= 2
    assert all(s["count"] == len(SPIKE) for s in spikes)


def test_sitemap_lists_every_utf8_article_and_robots_points_to_it(demo) -> None:
    now = dt.datetime.now(dt.UTC)
    routes, facts = build_site(demo["store"], demo["manifest"], now)
    assert b"Sitemap: /sitemap.xml" in routes["/robots.txt"].body
    body = routes["/sitemap.xml"].body
    root = etree.fromstring(body)
    assert root.tag == "{http://www.sitemaps.org/schemas/sitemap/0.9}urlset"
    links = sitemap_links(body, "http://127.0.0.1:1/")
    articles = sorted(p for p in routes if p.startswith("/post/"))
    assert sorted(link.url.removeprefix("http://127.0.0.1:1") for link in links) == articles
    assert len(articles) == facts["posts"] - facts["gbk_posts"]
    assert all(link.published and link.published <= now for link in links)
    # Archived posts are in the sitemap only: not on the board, not in the feed.
    board, feed = routes["/board/"].body.decode(), routes["/feed.xml"].body.decode()
    only_sitemap = [a for a in articles if a not in board and a not in feed]
    assert len(only_sitemap) == facts["archived_posts"] > 0
