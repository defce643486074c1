"""Entity linking: mentions of the graph's products, brands and enterprises, with spans.

The gazetteer is built from the graph through the GraphStore port (``iter_nodes``) and the
configured brand directory.  Every surface form is *strong* or *weak*:

* strong — a full product or enterprise name, a brand name of three or more characters, or
  an enterprise name without its place prefix and legal suffix ("嘉禾跨境电子商务"): linked
  wherever it occurs;
* weak — a product name without its brand ("婴儿配方奶粉1段"), a two-character brand
  ("星宝"), or an enterprise's core trade name ("嘉禾"): these are ambiguous, so they are
  linked only with supporting context in the same text — a strong mention of a related
  entity (the product's brand, the brand's product), or a context word near the mention
  (a product type of the brand for a brand, "公司/商家/平台…" for an enterprise) — and only
  when exactly one candidate is supported.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass, field

from sentiment.analysis.trie import trie_regex
from sentiment.config import Brand
from sentiment.search.port import Mention
from traceability.store.port import GraphStore, Node

LEGAL_SUFFIXES = (
    "股份有限公司", "有限责任公司", "有限公司", "株式会社", "集团", "公司", "GmbH", "Co., Ltd.",
    "Co.,Ltd.", "Ltd.", "Ltd", "Inc.", "K.K.", "S.A.", "S.p.A.", "B.V.", "AG", "LLC",
)  # fmt: skip
PLACE_PREFIXES = (
    "郑州航空港", "新郑综合保税区", "驻马店", "郑州", "河南", "天中", "中原", "上海", "北京",
    "广州", "深圳", "杭州", "宁波", "天津", "重庆", "中国",
)  # fmt: skip
TRADE_WORDS = (
    "跨境电子商务", "电子商务", "国际电子商务", "网络科技", "进出口贸易", "跨境商贸", "供应链管理",
    "国际贸易", "支付服务", "网络支付", "电子支付", "国际物流", "供应链物流", "速运", "报关",
    "国际货运代理", "关务服务", "融资担保", "保税仓储", "保税物流中心", "保税仓库", "乳品", "乳业",
    "化妆品", "家电", "生物研究所", "生命科学", "卫生用品", "原料", "乳粉", "乳清原料", "脂质原料",
    "制造商", "国际", "贸易", "商贸", "物流", "科技",
)  # fmt: skip
ENTERPRISE_CONTEXT = (
    "公司", "企业", "商家", "平台", "店铺", "旗舰店", "卖家", "物流", "快递", "客服", "厂家",
    "厂商", "供应商", "保税仓", "跨境", "电商",
)  # fmt: skip
CONTEXT_WINDOW = 12
_LATIN_PREFIX = re.compile(r"^[A-Za-z0-9À-ÿ'’&.,\- ]+?\s+(?=[^\x00-\x7F])")
_PARENS = re.compile(r"[（(][^）)]*[）)]")


@dataclass(slots=True)
class Entity:
    label: str
    key: str
    name: str
    related: set[str] = field(default_factory=set)  # "Label:key" of related entities
    context: tuple[str, ...] = ()

    @property
    def ident(self) -> str:
        return f"{self.label}:{self.key}"


@dataclass(frozen=True, slots=True)
class Form:
    entity: str  # "Label:key"
    strong: bool


def _clean(text: str) -> str:
    return " ".join(unicodedata.normalize("NFKC", text).split())


def _chinese_part(name: str) -> str:
    """ "Alpenwiese Milchwerk GmbH 阿尔卑草场乳品有限公司" -> "阿尔卑草场乳品有限公司"."""
    return _LATIN_PREFIX.sub("", name, count=1).strip()


def _strip_suffixes(name: str) -> str:
    changed = True
    while changed:
        changed = False
        for suffix in LEGAL_SUFFIXES:
            if name.endswith(suffix) and len(name) > len(suffix) + 1:
                name = name[: -len(suffix)].strip(" ,")
                changed = True
    return name


def enterprise_forms(name: str) -> tuple[list[str], list[str]]:
    """(strong, weak) surface forms of an enterprise name."""
    name = _clean(name)
    strong = {name}
    zh = _chinese_part(name)
    if zh != name and len(zh) >= 4:
        strong.add(zh)
    base = _strip_suffixes(_PARENS.sub("", zh)).strip()
    for place in PLACE_PREFIXES:
        if base.startswith(place) and len(base) > len(place) + 1:
            base = base[len(place) :]
            break
    if len(base) >= 4:
        strong.add(base)
    core = base
    changed = True
    while changed:
        changed = False
        for word in TRADE_WORDS:
            if core.endswith(word) and len(core) > len(word) + 1:
                core = core[: -len(word)]
                changed = True
    weak = [core] if core not in strong and len(core) >= 2 else []
    return sorted(strong), weak


class Gazetteer:
    """Entities, their surface forms, and the trie pattern that finds them."""

    def __init__(self) -> None:
        self.entities: dict[str, Entity] = {}
        self.forms: dict[str, list[Form]] = {}
        self.pattern: re.Pattern[str] | None = None

    def add(self, entity: Entity, strong: Iterable[str], weak: Iterable[str] = ()) -> None:
        self.entities.setdefault(entity.ident, entity)
        for forms, is_strong in ((strong, True), (weak, False)):
            for form in forms:
                form = _clean(form).lower()
                if len(form) < 2:
                    continue
                entries = self.forms.setdefault(form, [])
                if not any(f.entity == entity.ident for f in entries):
                    entries.append(Form(entity.ident, is_strong))

    def freeze(self) -> Gazetteer:
        self.pattern = trie_regex(self.forms)
        return self

    def user_words(self) -> list[str]:
        """Forms for jieba's user dictionary (those without spaces)."""
        return sorted(f for f in self.forms if " " not in f)

    @classmethod
    def build(
        cls, products: Iterable[Node], enterprises: Iterable[Node], brands: list[Brand]
    ) -> Gazetteer:
        gaz = cls()
        brand_entities: list[tuple[Entity, list[str]]] = []
        for brand in brands:
            brand_entity = Entity("Brand", brand.name, brand.name)
            names = [brand.name, *brand.aliases]
            gaz.add(
                brand_entity, [n for n in names if len(n) >= 3], [n for n in names if len(n) < 3]
            )
            brand_entities.append((brand_entity, names))
        for node in products:
            name = _clean(str(node.props.get("name") or ""))
            if not name:
                continue
            entity = Entity("Product", node.key, name)
            strong_forms = {name, name.replace(" ", "")}
            zh = _chinese_part(name)
            if len(zh) >= 4:
                strong_forms.add(zh)
            weak_forms: set[str] = set()
            for owner, names in brand_entities:
                for alias in sorted(names, key=len, reverse=True):
                    for candidate in (name, zh):
                        if candidate.lower().startswith(alias.lower()):
                            rest = candidate[len(alias) :].strip()
                            if len(rest) >= 2:
                                weak_forms.add(rest)
                                for other in names:
                                    if len(other) >= 2:
                                        strong_forms.add(other + rest)
                            entity.related.add(owner.ident)
                            owner.related.add(entity.ident)
                            owner.context += tuple(
                                w for w in _product_words(rest) if w not in owner.context
                            )
            entity.context = tuple(sorted(f for f in strong_forms if f != name))
            gaz.add(entity, sorted(strong_forms), sorted(weak_forms - strong_forms))
        for node in enterprises:
            name = str(node.props.get("name") or "")
            if not name:
                continue
            entity = Entity("Enterprise", node.key, _clean(name), context=ENTERPRISE_CONTEXT)
            strong, weak = enterprise_forms(name)
            for owner, names in brand_entities:
                if any(w in names or owner.name in w for w in weak + strong):
                    entity.related.add(owner.ident)
                    owner.related.add(entity.ident)
            gaz.add(entity, strong, weak)
        return gaz.freeze()

    @classmethod
    def from_store(cls, store: GraphStore, brands: list[Brand]) -> Gazetteer:
        products = [n for page in store.iter_nodes("Product") for n in page]
        enterprises = [n for page in store.iter_nodes("Enterprise") for n in page]
        return cls.build(products, enterprises, brands)

    # -- linking -------------------------------------------------------------------------

    def link(self, text: str) -> list[Mention]:
        """Mentions in ``text`` with their spans, strong ones first resolved, then weak."""
        if self.pattern is None:
            return []
        lowered = text.lower()
        if len(lowered) != len(text):  # a rare character changed length when lower-cased
            lowered = text
        found = [(m.start(), m.end(), m.group()) for m in self.pattern.finditer(lowered)]
        strong_ids: set[str] = set()
        resolved: list[tuple[int, int, str]] = []
        pending: list[tuple[int, int, list[Form]]] = []
        for start, end, form in found:
            if not _word_boundary(lowered, start, end, form):
                continue
            entries = self.forms[form]
            strongs = [f for f in entries if f.strong]
            if len(strongs) == 1:
                strong_ids.add(strongs[0].entity)
                resolved.append((start, end, strongs[0].entity))
            else:
                pending.append((start, end, strongs or entries))
        related = set(strong_ids)
        for ident in strong_ids:
            related |= self.entities[ident].related
        for start, end, candidates in pending:
            window = lowered[max(0, start - CONTEXT_WINDOW) : end + CONTEXT_WINDOW]
            supported = [
                f.entity
                for f in candidates
                if f.entity in related
                or any(word.lower() in window for word in self.entities[f.entity].context)
            ]
            if len(set(supported)) == 1:
                resolved.append((start, end, supported[0]))
        mentions = []
        for start, end, ident in sorted(resolved):
            entity = self.entities[ident]
            mentions.append(
                Mention(entity.label, entity.key, entity.name, start, end, text[start:end])
            )
        return mentions


def _product_words(rest: str) -> tuple[str, ...]:
    """Product-type words that support a short brand name: "婴儿纸尿裤M" -> 纸尿裤, 尿裤 …"""
    core = re.sub(r"[0-9A-Za-z+%.\s]+", "", rest)
    words = {core[-3:], core[-2:]} if len(core) >= 3 else {core}
    return tuple(sorted(w for w in words if len(w) >= 2))


def _word_boundary(text: str, start: int, end: int, form: str) -> bool:
    """Latin forms must not be cut out of a longer Latin word ("Lune" in "Lunettes")."""
    if not form[0].isascii() or not form[-1].isascii():
        return True
    before = text[start - 1] if start else " "
    after = text[end] if end < len(text) else " "
    return not (before.isascii() and before.isalnum()) and not (after.isascii() and after.isalnum())
