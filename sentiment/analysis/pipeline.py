"""The analysis of one text: tokenise once, then classify, categorise, link, match rules.

jieba's cut is the expensive step, so it runs once per text and its tokens feed the
classifier; categories, links and rules scan the text with prebuilt trie patterns.
"""

from __future__ import annotations

from dataclasses import dataclass

from sentiment import text as textmod
from sentiment.analysis.linking import Gazetteer
from sentiment.analysis.rules import WatchRules
from sentiment.analysis.taxonomy import Taxonomy
from sentiment.config import OpinionsConfig
from sentiment.model import Prediction, SentimentModel, load_model, prepare
from sentiment.search.port import Mention
from traceability.store.port import GraphStore


@dataclass(slots=True)
class Analysis:
    sentiment: Prediction
    categories: list[str]
    rules: list[str]
    mentions: list[Mention]


class Analyzer:
    def __init__(
        self,
        model: SentimentModel,
        taxonomy: Taxonomy,
        gazetteer: Gazetteer,
        rules: WatchRules,
    ) -> None:
        self.model = model
        self.taxonomy = taxonomy
        self.gazetteer = gazetteer
        self.rules = rules
        self.tokenizer = textmod.tokenizer()
        textmod.add_user_words(gazetteer.user_words())

    @classmethod
    def from_config(cls, config: OpinionsConfig, store: GraphStore | None) -> Analyzer:
        gazetteer = (
            Gazetteer.from_store(store, config.brands)
            if store is not None
            else Gazetteer.build([], [], config.brands)
        )
        return cls(
            load_model(),
            Taxonomy(config.categories),
            gazetteer,
            WatchRules([(r.name, r.query) for r in config.watch_rules]),
        )

    def analyse(self, title: str, body: str) -> Analysis:
        """Analyse ``title + "\\n" + body``; mention spans refer to that joined text."""
        full = f"{title}\n{body}" if title else body
        prepared = prepare(full)
        tokens = self.tokenizer.lcut(prepared)
        return Analysis(
            self.model.predict_tokens(prepared, tokens),
            self.taxonomy.categorise(full),
            self.rules.match(full),
            self.gazetteer.link(full),
        )
