"""robots.txt, fetched once per host per run through the same guarded fetcher.

RFC 9309: a 4xx robots.txt means no restrictions; a 5xx or an unreachable one means the
site is treated as fully disallowed until it answers again.
"""

from __future__ import annotations

from urllib.parse import urlsplit
from urllib.robotparser import RobotFileParser

from sentiment.crawl.fetcher import Fetcher, FetchError, host_key


class RobotsCache:
    def __init__(self, fetcher: Fetcher, user_agent: str) -> None:
        self.fetcher = fetcher
        self.user_agent = user_agent
        self._parsers: dict[str, RobotFileParser | bool] = {}

    def _load(self, url: str) -> RobotFileParser | bool:
        parts = urlsplit(url)
        robots_url = f"{parts.scheme}://{parts.netloc}/robots.txt"
        try:
            result = self.fetcher.fetch(robots_url)
        except FetchError as exc:
            # No robots.txt (4xx): everything allowed.  A server error or an unreachable
            # host: nothing allowed for now.
            return exc.kind == "http_4xx"
        parser = RobotFileParser(robots_url)
        parser.parse(result.body.decode("utf-8", "replace").splitlines())
        delay = parser.crawl_delay(self.user_agent)
        if delay:
            self.fetcher.throttle.set_floor(host_key(url), float(delay))
        return parser

    def allowed(self, url: str) -> bool:
        key = host_key(url)
        if key not in self._parsers:
            self._parsers[key] = self._load(url)
        rules = self._parsers[key]
        if isinstance(rules, bool):
            return rules
        return rules.can_fetch(self.user_agent, url)
