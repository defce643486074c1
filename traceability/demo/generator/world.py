"""A deterministic synthetic cross-border e-commerce world.

``plan_world`` draws the master data (enterprises, products, lots, buyers) and the risk
stories; ``iter_transactions`` then yields, order by order, the CEB records each party
would send: the platform's CEB311 order, the payment company's CEB411, the carrier's
CEB511, the declarant's CEB621 inventory and the customs CEB622 receipt.  Production
is described by GS1 EPCIS events (see :func:`production_events`).

Everything derives from one seed, so the same arguments always give the same world.
Normal orders respect the retail import limits; the stories break them on purpose and
are listed in the manifest with what a regulator should find.
"""

from __future__ import annotations

import datetime as dt
import random
from collections.abc import Iterator
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from traceability.demo.generator import pools
from traceability.formats.ceb.xml import Record
from traceability.formats.identifiers import (
    gtin_check_digit,
    make_resident_id,
    make_uscc,
    mask_resident_id,
)

FEN = Decimal("0.01")
YEAR = 2026
SINGLE_LIMIT = Decimal("5000")
ANNUAL_LIMIT = Decimal("26000")
FORMULA = "婴幼儿配方奶粉"

# (VAT, consumption tax) by category; cross-border retail pays 70% of both, duty 0.
TAX_RATES: dict[str, tuple[Decimal, Decimal]] = {
    "护肤品": (Decimal("0.13"), Decimal("0.15")),
    "彩妆": (Decimal("0.13"), Decimal("0.15")),
    "香水": (Decimal("0.13"), Decimal("0.15")),
    "葡萄酒": (Decimal("0.13"), Decimal("0.10")),
}
DEFAULT_RATES = (Decimal("0.13"), Decimal("0"))

# Ingredients that become infant formula through EPCIS TransformationEvents.
# (name, origin country, fictional supplier).
INGREDIENTS = (
    ("乳清蛋白粉", "609", "Waikato Whey Ingredients Ltd 怀卡托乳清原料有限公司"),
    ("全脂乳粉", "609", "Taranaki Milk Powders Ltd 塔拉纳基乳粉有限公司"),
    ("DHA藻油粉", "502", "BlueAlga Lipids Inc. 蓝藻脂质原料公司"),
)


def _money(value: Decimal) -> Decimal:
    return value.quantize(FEN, rounding=ROUND_HALF_UP)


def ceb_time(moment: dt.datetime) -> str:
    return moment.strftime("%Y%m%d%H%M%S")


@dataclass(frozen=True, slots=True)
class Enterprise:
    role: str
    code: str  # 10-character customs registration code (海关注册编码), used in messages
    uscc: str
    name: str


@dataclass(frozen=True, slots=True)
class Manufacturer:
    gln: str
    company_prefix: str
    name: str
    country: str

    @property
    def pgln(self) -> str:
        return f"urn:epc:id:pgln:{self.company_prefix}.{self.gln[7:12]}"

    @property
    def sgln(self) -> str:
        return f"urn:epc:id:sgln:{self.company_prefix}.{self.gln[7:12]}.0"


@dataclass(frozen=True, slots=True)
class Product:
    spec: pools.ProductSpec | None
    gtin13: str
    name: str
    hs_code: str
    unit: str
    country: str
    manufacturer: Manufacturer
    ingredient: bool = False

    @property
    def gtin14(self) -> str:
        return "0" + self.gtin13

    def lgtin(self, lot: str) -> str:
        g = self.gtin14
        return f"urn:epc:class:lgtin:{g[1:8]}.{g[0]}{g[8:13]}.{lot}"

    @property
    def class_pattern(self) -> str:
        g = self.gtin14
        return f"urn:epc:idpat:sgtin:{g[1:8]}.{g[0]}{g[8:13]}.*"


@dataclass(frozen=True, slots=True)
class Lot:
    product: Product
    lot: str
    produced: dt.datetime
    expiry: dt.date
    inputs: tuple[Lot, ...] = ()

    @property
    def key(self) -> str:
        return f"{self.product.gtin14}:{self.lot}"


@dataclass(slots=True)
class Person:
    id_number: str
    name: str
    phone: str
    district: pools.District
    address: str


@dataclass
class WorldPlan:
    seed: int
    orders: int
    enterprises: dict[str, list[Enterprise]]
    products: list[Product]
    ingredients: list[Product]
    lots: dict[str, list[Lot]]  # by GTIN-13, in production order
    ingredient_lots: list[Lot]
    buyers: list[Person]
    stories: dict[str, dict[str, Any]] = field(default_factory=dict)
    #: The seller of the enterprise_decline story (registered, not among ``enterprises``,
    #: so that the ordinary orders keep their sellers).
    late_seller: Enterprise | None = None

    @property
    def all_lots(self) -> list[Lot]:
        return self.ingredient_lots + [lot for lots in self.lots.values() for lot in lots]


@dataclass(slots=True)
class Transaction:
    """The records every party sends for one order; a story may drop or alter some."""

    order: Record
    payment: Record | None
    waybill: Record | None
    inventory: Record | None
    receipt: Record | None


def _customs_code(rng: random.Random, region: str) -> str:
    return region + str(rng.randint(1, 9)) + rng.choice("6789") + f"{rng.randint(0, 9999):04d}"


def _enterprises(rng: random.Random) -> dict[str, list[Enterprise]]:
    counts = {"ebp": 3, "ebc": 8, "pay": 3, "logistics": 4, "agent": 3, "assure": 2,
              "warehouse": 2}  # fmt: skip
    result: dict[str, list[Enterprise]] = {}
    used: set[str] = set()
    for role, count in counts.items():
        result[role] = []
        while len(result[role]) < count:
            region = rng.choice(("4101", "4117", "4101", "4190"))
            code = _customs_code(rng, region)
            if code in used:
                continue
            used.add(code)
            name = pools.make_enterprise_name(rng, role)
            uscc = make_uscc(rng, region=region + "00")
            result[role].append(Enterprise(role, code, uscc, name))
    return result


def _manufacturer(rng: random.Random, country: str, name: str) -> Manufacturer:
    prefixes = pools.GS1_PREFIXES.get(country, ("690",))
    base = rng.choice(prefixes)
    company_prefix = (base + "".join(str(rng.randint(0, 9)) for _ in range(7)))[:7]
    body = company_prefix + f"{rng.randint(1, 99999):05d}"
    return Manufacturer(body + gtin_check_digit(body), company_prefix, name, country)


def _products(rng: random.Random) -> tuple[list[Product], list[Product]]:
    makers: dict[str, list[Manufacturer]] = {}
    for country, names in pools.FOREIGN_MANUFACTURERS.items():
        makers[country] = [_manufacturer(rng, country, name) for name in names]
    used: set[str] = set()

    def gtin_for(maker: Manufacturer) -> str:
        while True:
            body = maker.company_prefix + f"{rng.randint(0, 99999):05d}"
            gtin = body + gtin_check_digit(body)
            if gtin not in used:
                used.add(gtin)
                return gtin

    products = []
    for spec in pools.PRODUCTS:
        country_makers = makers.get(spec.origin_country)
        if not country_makers:
            maker = _manufacturer(rng, spec.origin_country, f"{spec.brand} 制造商")
        else:
            maker = rng.choice(country_makers)
        products.append(
            Product(spec, gtin_for(maker), f"{spec.brand}{spec.name_zh}", spec.hs_code,
                    spec.unit, spec.origin_country, maker)
        )  # fmt: skip
    ingredients = []
    for name, country, supplier in INGREDIENTS:
        maker = _manufacturer(rng, country, supplier)
        ingredients.append(
            Product(None, gtin_for(maker), name, "0404100000", "035", country, maker, True)
        )
    return products, ingredients


def _lot_number(rng: random.Random, produced: dt.datetime) -> str:
    return produced.strftime("%y%m%d") + rng.choice("ABCDEFGH") + f"{rng.randint(0, 99):02d}"


def _lot_steps(orders: int, products: int) -> int:
    """Lots per product: about 40 orders a lot in small worlds, fortnightly lots in big ones."""
    return max(2, min(28, orders // (products * 40)))


def _lots(
    rng: random.Random, orders: int, products: list[Product], ingredients: list[Product]
) -> tuple[dict[str, list[Lot]], list[Lot]]:
    start = dt.datetime(YEAR - 1, 10, 1, 8, 0)
    steps = _lot_steps(orders, len(products))
    interval = (dt.datetime(YEAR, 11, 1) - start).days // steps
    ingredient_lots: list[Lot] = []
    for product in ingredients:
        for step in range(steps):
            produced = start + dt.timedelta(days=step * interval - 10, hours=2)
            ingredient_lots.append(
                Lot(product, _lot_number(rng, produced), produced,
                    (produced + dt.timedelta(days=540)).date())
            )  # fmt: skip
    lots: dict[str, list[Lot]] = {}
    for product in products:
        shelf = 720 if product.spec and product.spec.category == FORMULA else 1080
        series = []
        for step in range(steps):
            produced = start + dt.timedelta(
                days=step * interval + rng.randint(0, 3), hours=rng.randint(0, 10)
            )
            inputs: tuple[Lot, ...] = ()
            if product.spec and product.spec.category == FORMULA:
                # Each formula lot blends the ingredient lots made just before it.
                inputs = tuple(
                    max(
                        (lot for lot in ingredient_lots
                         if lot.product is ingredient and lot.produced < produced),
                        key=lambda lot: lot.produced,
                    )
                    for ingredient in rng.sample(ingredients, 2)
                    if any(lot.product is ingredient and lot.produced < produced
                           for lot in ingredient_lots)
                )  # fmt: skip
            series.append(
                Lot(product, _lot_number(rng, produced), produced,
                    (produced + dt.timedelta(days=shelf)).date(), inputs)
            )  # fmt: skip
        lots[product.gtin13] = series
    return lots, ingredient_lots


def _person(rng: random.Random, district: pools.District | None = None) -> Person:
    district = district or rng.choice(pools.DISTRICTS)
    birth = dt.date(rng.randint(1965, 2002), rng.randint(1, 12), rng.randint(1, 28))
    return Person(
        make_resident_id(rng, district.code, birth),
        pools.make_person_name(rng),
        pools.make_mobile(rng),
        district,
        pools.make_address(rng, district),
    )


def plan_world(orders: int, seed: int) -> WorldPlan:
    if orders < 40:
        raise ValueError("a world needs at least 40 orders to hold every risk story")
    rng = random.Random(seed)
    enterprises = _enterprises(rng)
    products, ingredients = _products(rng)
    lots, ingredient_lots = _lots(rng, orders, products, ingredients)
    # Pilot-zone buyers come mostly from Henan, the rest from across the country.
    henan = [d for d in pools.DISTRICTS if d.code.startswith("41")]
    buyers = [
        _person(rng, rng.choice(henan) if rng.random() < 0.6 else None)
        for _ in range(max(30, orders // 3))
    ]
    plan = WorldPlan(seed, orders, enterprises, products, ingredients, lots, ingredient_lots,
                     buyers)  # fmt: skip
    plan.late_seller = _new_enterprise(random.Random(seed * 15485863 + 5), plan, "ebc")
    return plan


# -- transactions ------------------------------------------------------------------------


@dataclass(slots=True)
class _Line:
    product: Product
    lot: Lot
    qty: int
    price: Decimal

    @property
    def total(self) -> Decimal:
        return _money(self.price * self.qty)


def _tax(lines: list[_Line], freight: Decimal) -> Decimal:
    """Cross-border retail import tax: (consumption tax + VAT) x 70%, duty 0."""
    total = Decimal(0)
    for index, line in enumerate(lines):
        category = line.product.spec.category if line.product.spec else ""
        vat, consumption = TAX_RATES.get(category, DEFAULT_RATES)
        value = line.total + (freight if index == 0 else 0)
        consumption_tax = value / (1 - consumption) * consumption
        total += (consumption_tax + (value + consumption_tax) * vat) * Decimal("0.7")
    return _money(total)


class _Builder:
    """Draws orders one by one, keeping each buyer's yearly total under the quota."""

    def __init__(self, plan: WorldPlan) -> None:
        self.plan = plan
        self.rng = random.Random(plan.seed * 7919 + 1)
        self.spent: dict[str, Decimal] = {}
        self.sequence = 0
        self.weights = [6 if p.spec and p.spec.category == FORMULA else 2 for p in plan.products]
        span = (dt.datetime(YEAR, 11, 20) - dt.datetime(YEAR, 1, 2)).total_seconds()
        self.step = span / plan.orders

    def moment(self, index: int) -> dt.datetime:
        jitter = self.rng.random() * self.step
        return dt.datetime(YEAR, 1, 2, 8) + dt.timedelta(seconds=index * self.step + jitter)

    def lot_for(self, product: Product, when: dt.datetime) -> Lot:
        """FIFO stock: one of the two newest lots produced at least 20 days earlier."""
        ready = [lot for lot in self.plan.lots[product.gtin13]
                 if lot.produced <= when - dt.timedelta(days=20)]  # fmt: skip
        return self.rng.choice(ready[-2:]) if ready else self.plan.lots[product.gtin13][0]

    def lines(self, when: dt.datetime, budget: Decimal) -> list[_Line]:
        rng = self.rng
        count = rng.choices((1, 2, 3), (70, 22, 8))[0]
        chosen = rng.choices(self.plan.products, self.weights, k=count)
        lines: list[_Line] = []
        total = Decimal(0)
        for product in dict.fromkeys(chosen):
            assert product.spec is not None
            price = pools.sample_price(rng, product.spec)
            qty = rng.choice((1, 1, 1, 2, 2, 3)) if price < 800 else 1
            while qty > 1 and total + price * qty > budget:
                qty -= 1
            if total + price * qty > budget:
                continue
            lines.append(_Line(product, self.lot_for(product, when), qty, price))
            total += price * qty
        if not lines:  # everything was too dear: the cheapest product, once
            product = min(self.plan.products, key=lambda p: p.spec.price_low if p.spec else 0)
            assert product.spec is not None
            lines.append(_Line(product, self.lot_for(product, when), 1, product.spec.price_low))
        return lines

    def pick_buyer(self, amount: Decimal) -> Person:
        for _ in range(20):
            buyer = self.rng.choice(self.plan.buyers)
            if self.spent.get(buyer.id_number, Decimal(0)) + amount <= ANNUAL_LIMIT - 500:
                return buyer
        buyer = _person(self.rng)
        self.plan.buyers.append(buyer)
        return buyer

    def transaction(
        self,
        index: int,
        lines: list[_Line] | None = None,
        buyer: Person | None = None,
        consignee: Person | None = None,
    ) -> Transaction:
        rng = self.rng
        plan = self.plan
        self.sequence += 1
        seq = self.sequence
        when = self.moment(index)
        freight = Decimal(rng.choice((0, 0, 8, 10, 12, 15, 20)))
        insured = Decimal(0)
        lines = lines or self.lines(when, SINGLE_LIMIT - freight - 100)
        goods = sum((line.total for line in lines), Decimal(0))
        buyer = buyer or self.pick_buyer(goods + freight)
        self.spent[buyer.id_number] = self.spent.get(buyer.id_number, Decimal(0)) + goods + freight
        if consignee is None:
            consignee = buyer
            if rng.random() < 0.1:  # a family member at the same address receives it
                consignee = Person(
                    buyer.id_number,
                    pools.make_person_name(rng),
                    pools.make_mobile(rng),
                    buyer.district,
                    buyer.address,
                )
        discount = Decimal(rng.choice((0, 0, 0, 5, 10))) if goods > 100 else Decimal(0)
        tax = _tax(lines, freight)
        paid = goods + freight + tax - discount
        ent = plan.enterprises
        ebp = ent["ebp"][seq % len(ent["ebp"])]
        ebc = ent["ebc"][(seq * 7) % len(ent["ebc"])]
        pay = ent["pay"][(seq * 3) % len(ent["pay"])]
        carrier = ent["logistics"][(seq * 5) % len(ent["logistics"])]
        agent = ent["agent"][seq % len(ent["agent"])]
        assure = ent["assure"][seq % len(ent["assure"])]
        bonded = rng.random() < 0.7
        warehouse = ent["warehouse"][seq % len(ent["warehouse"])] if bonded else None
        customs = rng.choice(pools.HENAN_CUSTOMS_CODES)
        order_no = f"{ebp.code[-4:]}{when:%Y%m%d}{seq:08d}"
        pay_id = f"{when:%Y%m%d%H%M%S}{seq:010d}"
        logistics_no = f"{carrier.code[-2:]}{seq:013d}"
        cop_no = f"{agent.code[-4:]}{when:%Y}{seq:010d}"  # ≤ 20 characters (XSD)
        paid_at = when + dt.timedelta(minutes=rng.randint(1, 30))
        declared = when + dt.timedelta(hours=rng.randint(2, 20))
        released = declared + dt.timedelta(hours=rng.randint(1, 30))
        head = {
            "guid": f"{seq:08d}-0311-4000-8000-{plan.seed:012d}",
            "appType": "1", "appTime": ceb_time(when), "appStatus": "2", "orderType": "I",
            "orderNo": order_no, "ebpCode": ebp.code, "ebpName": ebp.name,
            "ebcCode": ebc.code, "ebcName": ebc.name, "goodsValue": str(goods),
            "freight": str(freight), "discount": str(discount), "taxTotal": str(tax),
            "acturalPaid": str(paid), "currency": "142", "buyerRegNo": f"U{seq:09d}",
            "buyerName": buyer.name, "buyerTelephone": buyer.phone, "buyerIdType": "1",
            "buyerIdNumber": buyer.id_number, "payCode": pay.code, "payName": pay.name,
            "payTransactionId": pay_id,
            "batchNumbers": ",".join(line.lot.lot for line in lines),
            "consignee": consignee.name, "consigneeTelephone": consignee.phone,
            "consigneeAddress": consignee.address, "consigneeDistrict": consignee.district.code,
            "note": "",
        }  # fmt: skip
        order_lines = [
            {
                "gnum": str(i), "itemNo": f"SKU{line.product.gtin13[-6:]}",
                "itemName": line.product.name, "gmodel": line.product.spec.gmodel
                if line.product.spec else "", "itemDescribe": "", "barCode": line.product.gtin13,
                "unit": line.product.unit, "qty": str(line.qty), "price": str(line.price),
                "totalPrice": str(line.total), "currency": "142", "country": line.product.country,
                "note": "",
            }
            for i, line in enumerate(lines, 1)
        ]  # fmt: skip
        payment = {
            "guid": f"{seq:08d}-0411-4000-8000-{plan.seed:012d}",
            "appType": "1", "appTime": ceb_time(paid_at), "appStatus": "2",
            "payCode": pay.code, "payName": pay.name, "payTransactionId": pay_id,
            "orderNo": order_no, "ebpCode": ebp.code, "ebpName": ebp.name,
            "payerIdType": "1", "payerIdNumber": buyer.id_number, "payerName": buyer.name,
            "telephone": buyer.phone, "amountPaid": str(paid), "currency": "142",
            "payTime": ceb_time(paid_at), "note": "",
        }  # fmt: skip
        weight = sum((Decimal("0.9") * line.qty for line in lines), Decimal("0.2"))
        waybill = {
            "guid": f"{seq:08d}-0511-4000-8000-{plan.seed:012d}",
            "appType": "1", "appTime": ceb_time(paid_at + dt.timedelta(hours=1)),
            "appStatus": "2", "logisticsCode": carrier.code, "logisticsName": carrier.name,
            "logisticsNo": logistics_no, "billNo": f"MB{when:%Y%m%d}{seq % 50:03d}",
            "orderNo": order_no, "freight": str(freight), "insuredFee": str(insured),
            "currency": "142", "weight": str(weight), "packNo": "1", "goodsInfo": "跨境商品",
            "consignee": consignee.name, "consigneeAddress": consignee.address,
            "consigneeTelephone": consignee.phone, "note": "",
        }  # fmt: skip
        inventory = {
            "guid": f"{seq:08d}-0621-4000-8000-{plan.seed:012d}",
            "appType": "1", "appTime": ceb_time(declared), "appStatus": "2",
            "orderNo": order_no, "ebpCode": ebp.code, "ebpName": ebp.name,
            "ebcCode": ebc.code, "ebcName": ebc.name, "logisticsNo": logistics_no,
            "logisticsCode": carrier.code, "logisticsName": carrier.name, "copNo": cop_no,
            "preNo": "", "assureCode": assure.code, "emsNo": "", "invtNo": "", "ieFlag": "I",
            "declTime": f"{declared:%Y%m%d}", "customsCode": customs, "portCode": customs,
            "ieDate": f"{declared:%Y%m%d}", "buyerIdType": "1",
            "buyerIdNumber": buyer.id_number, "buyerName": buyer.name,
            "buyerTelephone": buyer.phone, "consigneeAddress": consignee.address,
            "agentCode": agent.code, "agentName": agent.name,
            "areaCode": warehouse.code if warehouse else "",
            "areaName": warehouse.name if warehouse else "",
            "tradeMode": "1210" if bonded else "9610", "trafMode": "5" if not bonded else "9",
            "trafNo": "", "voyageNo": "", "billNo": waybill["billNo"], "loctNo": "",
            "licenseNo": "", "country": lines[0].product.country, "freight": str(freight),
            "insuredFee": str(insured), "currency": "142", "wrapType": "2", "packNo": "1",
            "grossWeight": str(weight), "netWeight": str(weight - Decimal("0.2")), "note": "",
        }  # fmt: skip
        inventory_lines = [
            {
                "gnum": str(i), "itemRecordNo": "", "itemNo": f"SKU{line.product.gtin13[-6:]}",
                "itemName": line.product.name, "gcode": line.product.hs_code,
                "gname": line.product.name,
                "gmodel": line.product.spec.gmodel if line.product.spec else "",
                "barCode": line.product.gtin13, "country": line.product.country,
                "tradeCountry": line.product.country, "currency": "142", "qty": str(line.qty),
                "unit": line.product.unit, "qty1": str(line.qty), "unit1": line.product.unit,
                "qty2": "", "unit2": "", "price": str(line.price),
                "totalPrice": str(line.total), "note": "",
            }
            for i, line in enumerate(lines, 1)
        ]  # fmt: skip
        pre_no = f"B{when:%Y}{seq:013d}"
        invt_no = f"{customs}{when:%Y}I{seq:09d}"
        inspected = rng.random() < 0.01
        receipt = {
            "guid": f"{seq:08d}-0622-4000-8000-{plan.seed:012d}",
            "customsCode": customs, "ebpCode": ebp.code, "ebcCode": ebc.code,
            "agentCode": agent.code, "copNo": cop_no, "preNo": pre_no, "invtNo": invt_no,
            "returnStatus": "500" if inspected else "800",
            "returnTime": released.strftime("%Y%m%d%H%M%S") + "000",
            "returnInfo": "查验" if inspected else "放行",
        }  # fmt: skip
        return Transaction(
            Record(head, order_lines),
            Record(payment),
            Record(waybill),
            Record(inventory, inventory_lines),
            Record(receipt),
        )


def _order_key(tx: Transaction) -> str:
    return f"{tx.order.head['ebpCode']}:{tx.order.head['orderNo']}"


def iter_transactions(plan: WorldPlan, stories: bool = True) -> Iterator[Transaction]:
    """Yield every order of the world with its partner documents, stories included.

    The stories are written into ``plan.stories`` as they are generated; ``stories=False``
    yields a world without any (every order ordinary, nothing a regulator should find).
    """
    builder = _Builder(plan)
    n = plan.orders
    if not stories:
        for index in range(n):
            yield builder.transaction(index)
        return
    rng = random.Random(plan.seed * 104729 + 3)
    taken: set[int] = set()

    def slot(wanted: int) -> int:
        while wanted in taken:
            wanted += 1
        taken.add(wanted)
        return wanted

    quota_slots = [slot(n // 10 + i * max(1, n // 20)) for i in range(6)]
    ring_slots = [slot(n // 2 + i * max(1, n // 60)) for i in range(6)]
    story_at = {
        "payment_mismatch": slot(n // 5),
        "consignee_mismatch": slot(n // 4),
        "single_limit": slot(n // 3),
        "detained_shipment": slot(n * 3 // 5),
    }
    # The last orders before the period ends: a seller's declarations start being inspected.
    decline_slots = [slot(n - 4 + i) for i in range(4)]
    quota_buyer = _person(rng)
    ring_hub = _person(rng)
    ring_buyers = [_person(rng) for _ in range(6)]
    found = plan.stories
    found.update(
        {
            "payment_mismatch": {"orders": []},
            "consignee_mismatch": {"orders": []},
            "single_limit": {"orders": []},
            "annual_quota": {"orders": [], "buyer": mask_resident_id(quota_buyer.id_number)},
            "buyer_ring": {"orders": [], "buyers": [
                mask_resident_id(b.id_number) for b in ring_buyers]},
            "detained_shipment": {"orders": [], "inventories": []},
            "enterprise_decline": {"orders": [], "inventories": []},
        }
    )  # fmt: skip
    decline_seller = plan.late_seller
    assert decline_seller is not None
    appliance = max(plan.products, key=lambda p: p.spec.price_high if p.spec else 0)
    for index in range(n):
        if index in quota_slots:
            tx = _quota_order(builder, index, quota_buyer)
            found["annual_quota"]["orders"].append(_order_key(tx))
        elif index in ring_slots:
            buyer = ring_buyers[ring_slots.index(index)]
            hub = Person(buyer.id_number, buyer.name, ring_hub.phone, ring_hub.district,
                         ring_hub.address)  # fmt: skip
            tx = builder.transaction(index, buyer=buyer, consignee=hub)
            found["buyer_ring"]["orders"].append(_order_key(tx))
        elif index == story_at["single_limit"]:
            when = builder.moment(index)
            assert appliance.spec is not None
            lines = [_Line(appliance, builder.lot_for(appliance, when), 1,
                           appliance.spec.price_high)]  # fmt: skip
            lines.append(_Line(appliance, builder.lot_for(appliance, when), 1,
                               appliance.spec.price_high))  # fmt: skip
            lines = [_Line(appliance, lines[0].lot, 2, appliance.spec.price_high)]
            tx = builder.transaction(index, lines=lines)
            found["single_limit"]["orders"].append(_order_key(tx))
        else:
            tx = builder.transaction(index)
            if index == story_at["payment_mismatch"] and tx.payment:
                paid = Decimal(tx.payment.head["amountPaid"]) - Decimal("50")
                tx.payment.head["amountPaid"] = str(paid)
                found["payment_mismatch"]["orders"].append(_order_key(tx))
            elif index == story_at["consignee_mismatch"] and tx.waybill:
                stranger = _person(rng)
                tx.waybill.head.update(consignee=stranger.name,
                                       consigneeTelephone=stranger.phone)  # fmt: skip
                found["consignee_mismatch"]["orders"].append(_order_key(tx))
            elif index == story_at["detained_shipment"] and tx.receipt:
                tx.receipt.head.update(
                    returnStatus="501", returnInfo="扣留移送通关：标签与申报不符"
                )
                found["detained_shipment"]["orders"].append(_order_key(tx))
                found["detained_shipment"]["inventories"].append(tx.receipt.head["copNo"])
                found["detained_shipment"]["status"] = "501"
            elif index in decline_slots:
                _sold_by(tx, decline_seller)
                assert tx.receipt is not None and tx.inventory is not None
                tx.receipt.head.update(returnStatus="500",
                                       returnInfo="查验：抽检发现标签与申报不符")  # fmt: skip
                story = found["enterprise_decline"]
                story["orders"].append(_order_key(tx))
                story["inventories"].append(tx.inventory.head["copNo"])
                story.setdefault("from", tx.order.head["appTime"])
            elif index % 10 == 7 and index not in taken:
                # Until then the seller's orders (one in ten) are ordinary and clean.
                _sold_by(tx, decline_seller)
        yield tx
    found["enterprise_decline"]["enterprise"] = decline_seller.code
    _describe_stories(plan, builder)


def _new_enterprise(rng: random.Random, plan: WorldPlan, role: str) -> Enterprise:
    used = {e.code for group in plan.enterprises.values() for e in group}
    while True:
        region = rng.choice(("4101", "4117"))
        code = _customs_code(rng, region)
        if code not in used:
            break
    return Enterprise(role, code, make_uscc(rng, region=region + "00"),
                      pools.make_enterprise_name(rng, role))  # fmt: skip


def _sold_by(tx: Transaction, seller: Enterprise) -> None:
    """The order (and its declaration and receipt) name ``seller`` as the e-commerce company."""
    for record in (tx.order, tx.inventory):
        if record is not None:
            record.head.update(ebcCode=seller.code, ebcName=seller.name)
    if tx.receipt is not None:
        tx.receipt.head["ebcCode"] = seller.code


def _quota_order(builder: _Builder, index: int, buyer: Person) -> Transaction:
    """An order of about 4,800 RMB: six of them take one buyer past 26,000 in a year."""
    when = builder.moment(index)
    dearest = sorted(builder.plan.products, key=lambda p: p.spec.price_high if p.spec else 0)
    product = dearest[-2]
    assert product.spec is not None
    qty = max(1, int(Decimal(4700) // product.spec.price_high))
    price = _money(Decimal(4700) / qty)
    line = _Line(product, builder.lot_for(product, when), qty, price)
    return builder.transaction(index, lines=[line], buyer=buyer)


def _describe_stories(plan: WorldPlan, builder: _Builder) -> None:
    stories = plan.stories
    stories["payment_mismatch"]["what"] = "支付单 amountPaid 比订单 acturalPaid 少 50 元"
    stories["consignee_mismatch"]["what"] = "运单收货人姓名与电话与订单不一致"
    stories["single_limit"]["what"] = "单笔交易超过 5000 元限值"
    spent = builder.spent
    quota_total = next(
        (v for k, v in spent.items() if mask_resident_id(k) == stories["annual_quota"]["buyer"]),
        Decimal(0),
    )
    stories["annual_quota"]["what"] = "同一订购人年度累计超过 26000 元"
    stories["annual_quota"]["annual_total"] = str(quota_total)
    stories["buyer_ring"]["what"] = "6 名不同订购人共用同一收货电话与地址"
    stories["detained_shipment"]["what"] = "海关回执 501 扣留移送通关"
    stories["enterprise_decline"]["what"] = "期末多笔申报被海关查验，该电商企业信用由 A 降至 C"


def defective_lot_story(plan: WorldPlan) -> dict[str, Any]:
    """The ingredient lot later found defective, and the formula lots it went into."""
    formula = [p for p in plan.products if p.spec and p.spec.category == FORMULA]
    middle = len(plan.ingredient_lots) // 2
    for lot in plan.ingredient_lots[middle:] + plan.ingredient_lots[:middle]:
        outputs = [out for p in formula for out in plan.lots[p.gtin13] if lot in out.inputs]
        if len(outputs) >= 2:
            return {
                "what": "原料批次检出阪崎肠杆菌（克罗诺杆菌属），其加工的配方奶粉批次需召回",
                "batch": lot.key,
                "product": lot.product.name,
                "manufacturer": lot.product.manufacturer.name,
                "output_batches": [out.key for out in outputs],
            }
    raise AssertionError("no ingredient lot went into two formula lots")
