"""Watch rules and risk categories: the parts of the analysis that are not the model."""

from __future__ import annotations

import pytest

from sentiment.analysis.rules import RuleSyntaxError, WatchRules, parse_rule
from sentiment.analysis.taxonomy import Taxonomy
from sentiment.config import load_opinions_config

RULES = WatchRules(
    [
        ("婴配粉", "(奶粉 OR 配方粉) AND (结块 OR 异味) NOT 广告"),
        ("非广告", "NOT 广告"),  # matches texts with none of its terms
        ("吹风机", '吹风 "冒 烟"'),
    ]
)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("奶粉打开就结块", ["婴配粉", "非广告"]),
        ("奶粉结块？看广告", []),
        ("今天天气很好", ["非广告"]),  # no term at all: answered without walking the rules
        ("吹风机冒 烟了", ["非广告", "吹风机"]),
        ("KIWI 奶粉有异味", ["婴配粉", "非广告"]),
    ],
)
def test_watch_rules(text: str, expected: list[str]) -> None:
    assert RULES.match(text) == expected


@pytest.mark.parametrize("query", ["", "奶粉 AND", "(奶粉 OR 结块", "奶粉)", '"未闭合'])
def test_bad_rules_are_refused_with_a_reason(query: str) -> None:
    with pytest.raises(RuleSyntaxError):
        parse_rule(query)


def test_categories_skip_negated_keywords() -> None:
    taxonomy = Taxonomy(load_opinions_config().categories)
    assert taxonomy.categorise("奶粉结块，宝宝拉肚子") == ["food_safety"]
    assert taxonomy.categorise("没有异物，也无过敏") == []
    assert taxonomy.categorise("吹风机冒烟，差点起火，申请退货") == ["safety_hazard", "after_sales"]
