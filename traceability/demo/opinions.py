"""The demo's opinion site: generated posts about the world's products, crawled for real.

``run_demo`` writes a small forum-like site (UTF-8 article pages, an HTML list page, an
RSS feed, a sitemap that alone links the archived posts, and a GBK-encoded board), serves
it on 127.0.0.1 on an ephemeral port (allowlisted for this run only), and runs the real
crawler, analysis and signal detection against it.  The posts are deterministic in
content; their times are relative to now, so the spike about the defective formula lot is
"in the last few hours" whenever the demo runs.
"""

from __future__ import annotations

import datetime as dt
import email.utils
import html
import random
from pathlib import Path
from typing import Any

from config import Settings
from sentiment.config import OpinionsConfig, SourceConfig
from sentiment.search.port import CST, Filters, SearchQuery
from sentiment.service import OpinionsService
from traceability.demo.localsite import LocalSite, Response
from traceability.store.port import GraphStore, NodeRef

SEED = 20261127

SPIKE = (
    "给宝宝换了{p}，新开的一罐有明显结块，冲出来有股酸味，宝宝喝完当天就开始腹泻，已经停喝了。批号{lot}，有同样情况的家长吗？",
    "{p}这批奶粉肯定有问题！孩子喝了吐奶、拉肚子，去医院查说是肠道感染，怀疑奶粉被细菌污染，客服只说可以退一罐。",
    "群里有人说{brand}的配方粉原料检出阪崎肠杆菌，我家囤的{p}正好是批号{lot}，跨境平台到现在也没有通知召回，太让人担心了。",
    "{p}罐子打开有异味，粉质发黄还结块，和之前买的完全不一样，到底怎么回事？宝宝喝了两天就腹泻。",
    "宝宝喝{p}三天，一直腹泻呕吐，医生建议马上停用。申请退款被拒，说拆封不退，投诉无门，太气人了。",
    "求助：{p}冲泡后有沉淀和小颗粒异物，孩子喝完呕吐，批号{lot}，已经向市场监管部门投诉。",
    "再也不敢买{brand}了，{p}喝出问题，孩子腹泻一周，商家还一直推诿，说是我们冲泡方法不对。",
    "{p}这个批次大家千万别喝了！我家和邻居家的宝宝都拉肚子，奶粉有酸臭味，质量太差了。",
)
PRAISE = (
    "{p}已经回购第三次了，冲调很快不结块，宝宝喝了不上火，大便也正常。",
    "{p}保税仓发货，三天就到了，防伪码可以查到，是正品，包装完好无损。",
    "用了{p}两个月，效果不错，性价比很高，推荐给身边的朋友了。",
    "{p}的质量很好，做工精细，和描述的一样，非常满意，五星好评。",
    "第一次在跨境平台买{p}，物流很快，客服也很耐心，体验很好。",
)
GRIPES = (
    "{p}收到时外包装破损严重，申请换货等了一个多星期才处理，售后太慢了。",
    "{p}和宣传的效果差太多了，感觉被虚假宣传了，不推荐。",
    "{p}用了两天就坏了，质量太差，售后一直不处理。",
)
GBK_POSTS = (
    "{p}用了不到一周就冒烟了，插头附近有烧焦的味道，吓得赶紧拔掉，差点起火，大家注意安全。",
    "{p}充电的时候机身发烫，还闻到焦糊味，用着提心吊胆，质量太差，已经申请退货。",
)
REPOST_PREFIX = "【转自宝妈交流群】"
ARCHIVE_AFTER_DAYS = 12  # older posts are linked from the sitemap only


def _page(title: str, body: str, published: dt.datetime, charset: str = "utf-8") -> str:
    paragraphs = "".join(f"<p>{html.escape(p)}</p>" for p in body.split("\n"))
    stamp = published.astimezone(CST).replace(microsecond=0)
    return (
        f'<!doctype html><html lang="zh-CN"><head><meta charset="{charset}">'
        f"<title>{html.escape(title)} - 跨境好物社区</title>"
        f'<meta property="article:published_time" content="{stamp.isoformat()}"></head>'
        '<body><nav><a href="/">首页</a> | <a href="/board/">投诉与评价</a></nav>'
        f"<article><h1>{html.escape(title)}</h1>"
        f'<p class="time">发布于 {stamp:%Y-%m-%d %H:%M}</p>{paragraphs}</article>'
        "<footer>跨境好物社区 · 用户发帖仅代表个人观点</footer></body></html>"
    )


def _brand_and_short(name: str) -> tuple[str, str]:
    """ "Kiwi Meadow 奇维牧场婴儿配方奶粉1段" -> ("奇维牧场", "奇维牧场婴儿配方奶粉1段")."""
    zh = name.split(" ")[-1] if " " in name else name
    return zh[:4], zh


def build_site(
    store: GraphStore, manifest: dict[str, Any], now: dt.datetime
) -> tuple[dict[str, Response], dict[str, Any]]:
    """Routes of the demo site and facts about what it publishes."""
    rng = random.Random(SEED)
    products = sorted(
        (n for page in store.iter_nodes("Product") for n in page if n.props.get("name")),
        key=lambda n: n.key,
    )
    defective = manifest["stories"]["defective_lot"]
    batches = [b.split(":", 1) for b in defective["output_batches"]]
    target_ref = NodeRef("Product", batches[0][0])
    target = store.get_nodes([target_ref]).get(target_ref)
    if target is None or not target.props.get("name"):
        raise ValueError(f"图中找不到缺陷批次的商品 {target_ref.key}")
    lots = [lot for gtin, lot in batches if gtin == target.key] or [batches[0][1]]
    brand, short = _brand_and_short(str(target.props["name"]))
    posts: list[dict[str, Any]] = []

    def add(text: str, when: dt.datetime, board: str, title: str) -> None:
        posts.append(
            {"id": len(posts) + 1, "text": text, "when": when, "board": board, "title": title}
        )

    # Baseline: two weeks of ordinary talk about all products (mostly praise, a few gripes).
    for day in range(14, 0, -1):
        for _ in range(3):
            product = rng.choice(products)
            b, p = _brand_and_short(str(product.props["name"]))
            negative = rng.random() < 0.25
            template = rng.choice(GRIPES if negative else PRAISE)
            when = now - dt.timedelta(
                days=day, hours=rng.randint(0, 20), minutes=rng.randint(0, 59)
            )
            board = "rss" if rng.random() < 0.5 else "html"
            if day >= ARCHIVE_AFTER_DAYS:  # off the board's page and the feed: sitemap only
                board = "archive"
            add(template.format(p=p, brand=b), when, board,
                f"{p}{'吐槽' if negative else '使用体验'}")  # fmt: skip
    # Appliances on the GBK board (an older forum that never moved to UTF-8).
    appliances = [
        n for n in products if any(w in str(n.props["name"]) for w in ("吹风", "剃须刀"))
    ] or products[:1]
    for i, template in enumerate(GBK_POSTS):
        b, p = _brand_and_short(str(appliances[i % len(appliances)].props["name"]))
        add(
            template.format(p=p, brand=b),
            now - dt.timedelta(days=3 + 4 * i, hours=2),
            "gbk",
            f"{p}安全隐患",
        )
    # The spike: the defective formula lot, in the last few hours, on every board.
    spike_ids = []
    for i, template in enumerate(SPIKE):
        # Within the last 4h20m, so that the 6-hour spike window (whole hours) always holds all.
        when = now - dt.timedelta(hours=4 - i * 0.45, minutes=rng.randint(0, 20))
        board = ("html", "rss", "gbk")[i % 3]
        add(
            template.format(p=short, brand=brand, lot=lots[i % len(lots)]),
            when,
            board,
            f"{short}质量问题求助",
        )
        spike_ids.append(posts[-1]["id"])
    for original in spike_ids[:2]:  # reposts: the same voice, not new ones
        post = posts[original - 1]
        add(
            post["text"],
            post["when"] + dt.timedelta(minutes=40),
            "rss",
            REPOST_PREFIX + post["title"],
        )

    routes: dict[str, Response] = {
        "/robots.txt": Response(
            200,
            b"User-agent: *\nDisallow: /admin/\nSitemap: /sitemap.xml\n",
            {"Content-Type": "text/plain"},
        ),
    }
    html_type = {"Content-Type": "text/html; charset=utf-8"}
    for post in posts:
        if post["board"] == "gbk":
            body = _page(post["title"], post["text"], post["when"], "gbk").encode("gb18030")
            routes[f"/gbk/{post['id']}.html"] = Response(200, body, {"Content-Type": "text/html"})
        else:
            routes[f"/post/{post['id']}.html"] = Response(
                200, _page(post["title"], post["text"], post["when"]).encode(), html_type
            )
    board_posts = [p for p in posts if p["board"] == "html"]
    links = "".join(
        f'<li><a href="/post/{p["id"]}.html">{html.escape(p["title"])}</a></li>'
        for p in board_posts
    )
    routes["/board/"] = Response(
        200,
        (
            '<!doctype html><html><head><meta charset="utf-8"><title>投诉与评价</title></head>'
            f"<body><ul>{links}</ul></body></html>"
        ).encode(),
        html_type,
    )
    gbk = [p for p in posts if p["board"] == "gbk"]
    gbk_links = "".join(
        f'<li><a href="/gbk/{p["id"]}.html">{html.escape(p["title"])}</a></li>' for p in gbk
    )
    routes["/gbk/"] = Response(
        200,
        (
            '<html><head><meta http-equiv="Content-Type" content="text/html; charset=gb2312">'
            f"<title>老论坛</title></head><body><ul>{gbk_links}</ul></body></html>"
        ).encode("gb18030"),
        {"Content-Type": "text/html"},
    )
    items = "".join(
        f"<item><title>{html.escape(p['title'])}</title><link>/post/{p['id']}.html</link>"
        f"<pubDate>{email.utils.format_datetime(p['when'].astimezone(dt.UTC))}</pubDate></item>"
        for p in posts if p["board"] == "rss"
    )  # fmt: skip
    routes["/feed.xml"] = Response(
        200,
        (
            '<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel>'
            f"<title>跨境好物社区</title>{items}</channel></rss>"
        ).encode(),
        {"Content-Type": "application/rss+xml"},
    )
    # The sitemap lists every UTF-8 article, the archived ones included, with lastmod.
    urls = "".join(
        f"<url><loc>/post/{p['id']}.html</loc>"
        f"<lastmod>{p['when'].astimezone(CST).replace(microsecond=0).isoformat()}</lastmod></url>"
        for p in posts if p["board"] != "gbk"
    )  # fmt: skip
    routes["/sitemap.xml"] = Response(
        200,
        (
            '<?xml version="1.0" encoding="utf-8"?>'
            f'<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">{urls}</urlset>'
        ).encode(),
        {"Content-Type": "application/xml"},
    )
    facts = {
        "posts": len(posts),
        "archived_posts": sum(p["board"] == "archive" for p in posts),
        "gbk_posts": sum(p["board"] == "gbk" for p in posts),
        "spike_product": target.key,
        "spike_product_name": target.props["name"],
        "spike_posts": len(SPIKE),
    }
    return routes, facts


def demo_config(base: OpinionsConfig, site: LocalSite) -> OpinionsConfig:
    config = base.model_copy(deep=True)
    config.crawler.allow_private = ["127.0.0.1/32"]
    config.crawler.default_delay = 0.0
    config.crawler.max_delay = 0.5
    config.sources = [
        SourceConfig(name="跨境好物社区RSS", kind="rss", url=site.url("/feed.xml"),
                     every_minutes=30),
        SourceConfig(name="跨境好物社区投诉板", kind="html", url=site.url("/board/"),
                     link_pattern=r"/post/\d+\.html$", every_minutes=60),
        SourceConfig(name="老论坛(GBK)", kind="html", url=site.url("/gbk/"),
                     link_pattern=r"/gbk/\d+\.html$", every_minutes=120),
        # Last, so it finds the posts the others stored already and adds the archived ones.
        SourceConfig(name="跨境好物社区站点地图", kind="sitemap", url=site.url("/sitemap.xml"),
                     every_minutes=720),
    ]  # fmt: skip
    return config


def run_demo(
    settings: Settings, service: OpinionsService, manifest: dict[str, Any], world_dir: Path
) -> dict[str, Any]:
    """Serve the generated site, crawl it for real, detect signals; return a summary.

    ``service`` is the composition root's; it crawls the local site under a demo
    configuration (loopback allowed, no delays) and gets its own configuration back after.
    """
    now = dt.datetime.now(dt.UTC)
    store = service.graph
    assert store is not None, "the demo crawls with the graph's product names"
    routes, facts = build_site(store, manifest, now)
    with LocalSite(routes) as site:
        previous = service.config
        service.config = demo_config(previous, site)
        try:
            runs, signals = service.crawl()
            entity = f"Product:{facts['spike_product']}"
            since = f"{(now - dt.timedelta(days=2)).astimezone(CST):%Y-%m-%dT%H:00}"
            negatives = service.search.search(
                SearchQuery(filters=Filters(entity=entity, sentiment="negative"), limit=1)
            ).total
            summary = {
                "site": site.base_url,
                "posts_published": facts["posts"],
                "archived_posts": facts["archived_posts"],
                "runs": [{"source": r.source, **r.stats()} for r in runs],
                "documents": service.search.count(),
                "spike_entity": entity,
                "spike_entity_name": facts["spike_product_name"],
                "negative_mentions_of_spike_entity": negatives,
                "signals": [s.as_json() for s in service.state.signals("spike", 20)],
                "new_signals": len(signals),
                "try": [
                    f"qtrace opinions search 腹泻 --entity {entity}",
                    "qtrace opinions signals",
                    f"qtrace opinions trend --entity {entity} --interval hour --since {since}",
                    f"http://{settings.web.host}:{settings.web.port}/opinions"
                    f"?entity={entity}&interval=hour&sentiment=negative",
                ],
            }
        finally:
            service.config = previous
    return summary
