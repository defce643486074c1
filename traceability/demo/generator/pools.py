"""Pools of names, products and enterprises for the synthetic world generator.

Pure data and a few tiny helpers; no I/O. The administrative codes, customs parameter
codes (countries, units, customs offices) and commodity codes are real. Company,
brand and manufacturer names are fictional but plausible: a quality-risk simulator
must not attach invented recalls to real firms.

Sources used to check the facts:

* GB/T 2260 county codes: the National Bureau of Statistics list as mirrored in
  python-stdnum ``stdnum/cn/loc.dat``.
* Customs country, unit and customs-office codes: the JGS-20 customs parameter tables
  as reproduced in public CEB integration code, and the official CEB sample messages.
* Commodity codes: the China customs tariff (10-digit lines with their 2-digit
  statistical suffix, as used in CEB ``gcode``), and the cross-border retail import
  positive list (跨境电子商务零售进口商品清单).
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from decimal import Decimal

from traceability.formats.identifiers import make_gtin13
from traceability.formats.reference import (
    COUNTRIES,
    CUSTOMS_OFFICES,
    CUSTOMS_UNITS,
    DISTRICTS,
    GS1_PREFIXES,
    HENAN_CUSTOMS_CODES,
    ZHUMADIAN_CODES,
    District,
    district_by_code,
)

__all__ = [
    "COUNTRIES",
    "CUSTOMS_OFFICES",
    "CUSTOMS_UNITS",
    "DISTRICTS",
    "ENTERPRISE_ROLES",
    "ENTERPRISE_TEMPLATES",
    "FOREIGN_MANUFACTURERS",
    "GIVEN_NAME_CHARS",
    "GS1_PREFIXES",
    "HENAN_CUSTOMS_CODES",
    "MOBILE_PREFIXES",
    "PRODUCTS",
    "STREET_SUFFIXES",
    "SURNAMES",
    "SURNAME_WEIGHTS",
    "ZHUMADIAN_CODES",
    "District",
    "ProductSpec",
    "district_by_code",
    "make_address",
    "make_enterprise_name",
    "make_mobile",
    "make_person_name",
    "make_product_barcode",
    "sample_price",
]


# --- People -------------------------------------------------------------------------

#: About 100 of the commonest Chinese surnames, most frequent first.
SURNAMES: tuple[str, ...] = (
    "王", "李", "张", "刘", "陈", "杨", "黄", "赵", "吴", "周",
    "徐", "孙", "马", "朱", "胡", "郭", "何", "林", "高", "罗",
    "郑", "梁", "谢", "宋", "唐", "许", "韩", "邓", "冯", "曹",
    "彭", "曾", "肖", "田", "董", "潘", "袁", "蔡", "蒋", "余",
    "于", "杜", "叶", "程", "魏", "苏", "吕", "丁", "任", "卢",
    "姚", "沈", "钟", "姜", "崔", "谭", "陆", "范", "汪", "廖",
    "石", "金", "韦", "贾", "夏", "付", "方", "邹", "熊", "白",
    "孟", "秦", "邱", "侯", "江", "尹", "薛", "闫", "段", "雷",
    "龙", "黎", "史", "陶", "贺", "毛", "郝", "顾", "龚", "邵",
    "万", "覃", "武", "钱", "戴", "严", "莫", "孔", "向", "常",
)  # fmt: skip

#: Approximate share of the population (percent) for each entry of :data:`SURNAMES`.
#: The top twenty follow published census rankings; the tail decays smoothly.
SURNAME_WEIGHTS: tuple[float, ...] = (
    7.1, 7.0, 6.7, 5.4, 4.5, 3.1, 2.2, 2.0, 1.8, 1.7,
    1.5, 1.5, 1.4, 1.3, 1.2, 1.2, 1.1, 1.0, 1.0, 0.9,
    *(round(0.85 * 0.97**i, 3) for i in range(80)),
)  # fmt: skip

_GIVEN_NAME_TEXT = (
    "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂英华玉兰萍红梅鑫宇浩然"
    "子轩梓涵一诺欣怡雨泽思彤俊博文佳琪晨曦嘉语桐若汐皓可馨建国志海燕"
    "晓东春秋菊冬雪斌永胜庆家豪振鹏飞天佑墨瑞安心诗梦瑶雅慧婷丹亮晶宏"
    "少德立新洁淑珍凤金生昊奕辰沐阳锦程铭睿哲萱紫妍昕嫣芷书钰依宸逸鸣"
    "星远凯峰辉健伦昌茂林森柏松竹岩川舒悦蕾薇倩颖莉琳璐露贝蓓楠琦瑾瑜"
    "婉淑惠贤宁康泰福禄寿喜乐谦诚信义仁礼智勤毅恒锋钢铁成功达顺利兴旺"
    "富贵荣耀光亚洲月朗清澄澜波航帆舟鹤凤鸾麟骏驰腾翔巍峻崇"
)

#: Distinct characters common in given names (about 250), in a fixed order.
GIVEN_NAME_CHARS: tuple[str, ...] = tuple(dict.fromkeys(_GIVEN_NAME_TEXT))


# --- Places -------------------------------------------------------------------------


#: Suffixes that mark a street name, for callers that build their own.
STREET_SUFFIXES: tuple[str, ...] = ("路", "街", "大道", "大街", "巷", "道")


def make_address(rng: random.Random, district: District) -> str:
    """A full street address, e.g. ``河南省驻马店市驿城区解放大道128号3栋2单元501室``."""
    region = district.province
    if district.city != district.province:
        region += district.city
    street = rng.choice(district.streets)
    number = rng.randint(1, 399)
    building = rng.randint(1, 28)
    unit = rng.randint(1, 4)
    room = rng.randint(1, 33) * 100 + rng.randint(1, 4)
    return f"{region}{district.name}{street}{number}号{building}栋{unit}单元{room}室"


def make_person_name(rng: random.Random) -> str:
    """A frequency-weighted surname plus one or two given-name characters."""
    surname = rng.choices(SURNAMES, weights=SURNAME_WEIGHTS)[0]
    given_len = 2 if rng.random() < 0.7 else 1
    return surname + "".join(rng.choice(GIVEN_NAME_CHARS) for _ in range(given_len))


#: Three-digit mobile number segments in public use (13x/15x/17x/18x/19x).
MOBILE_PREFIXES: tuple[str, ...] = (
    *(f"13{i}" for i in range(10)),
    "150", "151", "152", "153", "155", "156", "157", "158", "159",
    "173", "175", "176", "177", "178",
    *(f"18{i}" for i in range(10)),
    "191", "193", "195", "196", "197", "198", "199",
)  # fmt: skip


def make_mobile(rng: random.Random) -> str:
    """An 11-digit mainland mobile number with a real segment prefix."""
    return rng.choice(MOBILE_PREFIXES) + f"{rng.randint(0, 99_999_999):08d}"


# --- Products -----------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ProductSpec:
    """A cross-border retail import good as declared on a CEB inventory line.

    ``hs_code`` is the 10-digit ``gcode``; ``unit`` the customs unit code of the declared
    quantity (see :data:`CUSTOMS_UNITS`); ``origin_country`` a customs country code (see
    :data:`COUNTRIES`); prices are unit retail prices in CNY. Brands are fictional.
    """

    category: str
    name_zh: str
    brand: str
    hs_code: str
    unit: str
    unit_name: str
    price_low: Decimal
    price_high: Decimal
    origin_country: str
    gmodel: str


def _p(
    category: str,
    name_zh: str,
    brand: str,
    hs_code: str,
    unit: str,
    prices: tuple[str, str],
    origin: str,
    gmodel: str,
) -> ProductSpec:
    return ProductSpec(
        category,
        name_zh,
        brand,
        hs_code,
        unit,
        CUSTOMS_UNITS[unit],
        Decimal(prices[0]),
        Decimal(prices[1]),
        origin,
        gmodel,
    )


_FORMULA = "婴幼儿配方奶粉"
_SUPPLEMENT = "保健食品"
_SKIN = "护肤品"
_APPLIANCE = "小家电"

# Commodity codes confirmed at 10 digits against published tariff listings: 1901101090
# (ordinary infant formula; it replaced 1901101000 in 2021), 0402210000, 2106909090,
# 3304990099, 3401300090 (replaced 3401300000), 0901210000, 0902109000, 2201101000.
# 0409000000 and 2204210000 extend 8-digit lines of the retail import list. The rest
# follow the tariff structure but their 2-digit suffix was not confirmed: 3303000020,
# 3305100000, 3306101000, 3924900000, 8509401000, 8510100000, 8516310000, 9603210000,
# 9619001100, 1806320000.
PRODUCTS: tuple[ProductSpec, ...] = (
    _p(_FORMULA, "婴儿配方奶粉1段", "Kiwi Meadow 奇维牧场", "1901101090", "122",
       ("238", "328"), "609", "0-6个月 900g/罐"),
    _p(_FORMULA, "较大婴儿配方奶粉2段", "Kiwi Meadow 奇维牧场", "1901101090", "122",
       ("228", "318"), "609", "6-12个月 900g/罐"),
    _p(_FORMULA, "幼儿配方奶粉3段", "Southern Cross Dairy 南十字乳业", "1901101090", "122",
       ("198", "288"), "601", "12-36个月 800g/罐"),
    _p(_FORMULA, "有机婴儿配方奶粉1段", "Alpenwiese 阿尔卑草场", "1901101090", "140",
       ("168", "248"), "304", "0-6个月 800g/盒"),
    _p(_FORMULA, "婴儿配方羊奶粉1段", "Polder Goat 圩田羊乳", "1901101090", "122",
       ("268", "368"), "309", "0-6个月 800g/罐"),
    _p("乳制品", "全脂成人奶粉", "Southern Cross Dairy 南十字乳业", "0402210000", "136",
       ("88", "158"), "601", "1kg/袋"),
    _p("乳制品", "高钙脱脂成人奶粉", "Kiwi Meadow 奇维牧场", "0402210000", "136",
       ("78", "138"), "609", "1kg/袋"),
    _p(_SUPPLEMENT, "深海鱼油软胶囊", "OceanVital 海韵维他", "2106909090", "142",
       ("99", "199"), "601", "1000mg×400粒/瓶"),
    _p(_SUPPLEMENT, "维生素C咀嚼片", "SunLeaf 阳叶", "2106909090", "142",
       ("59", "129"), "502", "500mg×120片/瓶"),
    _p(_SUPPLEMENT, "益生菌粉", "Nordic Flora 北欧菌谷", "2106909090", "140",
       ("158", "298"), "330", "2g×30袋/盒"),
    _p(_SUPPLEMENT, "液体钙软胶囊", "SunLeaf 阳叶", "2106909090", "142",
       ("79", "159"), "502", "600mg×150粒/瓶"),
    _p(_SUPPLEMENT, "胶原蛋白肽粉", "Sakura Bio 樱生研", "2106909090", "140",
       ("168", "368"), "116", "5g×30袋/盒"),
    _p("蜂蜜", "麦卢卡蜂蜜UMF10+", "Kiwi Hive 奇维蜂巢", "0409000000", "142",
       ("198", "458"), "609", "250g/瓶"),
    _p("蜂蜜", "桉树花蜂蜜", "Outback Bee 内陆蜂园", "0409000000", "142",
       ("49", "99"), "601", "500g/瓶"),
    _p("葡萄酒", "干红葡萄酒", "Château Lune 月影酒庄", "2204210000", "142",
       ("128", "688"), "305", "750ml/瓶 13.5%vol"),
    _p("葡萄酒", "西拉干红葡萄酒", "Barossa Ridge 巴罗萨岭", "2204210000", "142",
       ("88", "398"), "601", "750ml/瓶 14%vol"),
    _p("葡萄酒", "起泡白葡萄酒", "Colline d'Oro 金丘", "2204210000", "142",
       ("78", "258"), "307", "750ml/瓶 11%vol"),
    _p(_SKIN, "保湿面霜", "Sakura Bio 樱生研", "3304990099", "142",
       ("158", "680"), "116", "50g/瓶"),
    _p(_SKIN, "精华液", "Seoul Dew 首尔晨露", "3304990099", "142",
       ("128", "520"), "133", "50ml/瓶"),
    _p(_SKIN, "防晒乳SPF50+", "Sakura Bio 樱生研", "3304990099", "012",
       ("89", "238"), "116", "60ml/支"),
    _p(_SKIN, "眼霜", "Maison Aube 晨曦之家", "3304990099", "142",
       ("298", "980"), "305", "15ml/瓶"),
    _p(_SKIN, "保湿面膜", "Seoul Dew 首尔晨露", "3304990099", "140",
       ("69", "199"), "133", "25ml×10片/盒"),
    _p("洁肤用品", "氨基酸洁面乳", "Sakura Bio 樱生研", "3401300090", "012",
       ("59", "159"), "116", "120g/支"),
    _p("洁肤用品", "温和沐浴露", "Alpenwiese 阿尔卑草场", "3401300090", "142",
       ("49", "129"), "304", "500ml/瓶"),
    _p("香水", "淡香水", "Maison Aube 晨曦之家", "3303000020", "142",
       ("380", "1280"), "305", "50ml/瓶 EDT"),
    _p("洗护用品", "无硅油洗发水", "Kyoto Leaf 京叶", "3305100000", "142",
       ("59", "139"), "116", "480ml/瓶"),
    _p("洗护用品", "头皮护理洗发水", "Seoul Dew 首尔晨露", "3305100000", "142",
       ("69", "169"), "133", "500ml/瓶"),
    _p("口腔护理", "美白牙膏", "Kyoto Leaf 京叶", "3306101000", "012",
       ("29", "79"), "116", "140g/支"),
    _p("口腔护理", "软毛牙刷", "Kyoto Leaf 京叶", "9603210000", "012",
       ("15", "49"), "116", "超细软毛 1支装"),
    _p("母婴用品", "婴儿纸尿裤M", "Hoshi Baby 星宝", "9619001100", "125",
       ("99", "189"), "116", "M码 64片/包"),
    _p("母婴用品", "婴儿拉拉裤L", "Hoshi Baby 星宝", "9619001100", "125",
       ("109", "199"), "116", "L码 44片/包"),
    _p("母婴用品", "婴儿奶瓶", "Hoshi Baby 星宝", "3924900000", "007",
       ("89", "229"), "116", "PPSU 240ml"),
    _p(_APPLIANCE, "负离子电吹风", "Aerostil 艾风", "8516310000", "001",
       ("399", "2990"), "304", "1600W"),
    _p(_APPLIANCE, "电动剃须刀", "Aerostil 艾风", "8510100000", "001",
       ("299", "1899"), "304", "往复式 三刀头"),
    _p(_APPLIANCE, "便携榨汁机", "Kitchin Lab 厨研社", "8509401000", "001",
       ("199", "699"), "502", "350ml 无线"),
    _p("食品", "烘焙咖啡豆", "Caffè Duomo 穹顶咖啡", "0901210000", "136",
       ("69", "199"), "307", "1kg/袋 中深烘"),
    _p("食品", "黑巧克力", "Helvetia Cacao 赫尔维可可", "1806320000", "140",
       ("39", "129"), "331", "70%可可 100g/盒"),
    _p("食品", "抹茶绿茶粉", "Kyoto Leaf 京叶", "0902109000", "122",
       ("68", "198"), "116", "100g/罐"),
    _p("饮料", "天然矿泉水", "Source d'Azur 蔚源", "2201101000", "142",
       ("8", "25"), "305", "750ml/瓶"),
)  # fmt: skip


def sample_price(rng: random.Random, spec: ProductSpec) -> Decimal:
    """A unit price drawn uniformly from the spec's range, rounded to fen (0.01 CNY)."""
    fen_low = int(spec.price_low * 100)
    fen_high = int(spec.price_high * 100)
    return Decimal(rng.randint(fen_low, fen_high)) / 100


def make_product_barcode(rng: random.Random, origin_country: str) -> str:
    """An EAN-13 whose GS1 prefix matches ``origin_country`` (Chinese 690-695 otherwise)."""
    prefixes = GS1_PREFIXES.get(origin_country, GS1_PREFIXES["142"])
    return make_gtin13(rng, rng.choice(prefixes))


# --- Enterprises --------------------------------------------------------------------

#: Foreign manufacturers by customs country code: fictional, "local name + 中文名".
FOREIGN_MANUFACTURERS: dict[str, tuple[str, ...]] = {
    "116": (
        "Hokkaido Dairy Works Co., Ltd. 北海道乳业株式会社",
        "Sakura Bioscience K.K. 樱生命科学株式会社",
        "Kyoto Leaf Cosmetics Co., Ltd. 京叶化妆品株式会社",
        "Hoshi Hygiene Products K.K. 星卫生用品株式会社",
    ),
    "133": (
        "Seoul Dew Cosmetics Co., Ltd. 首尔晨露化妆品株式会社",
        "Hangang Bio Lab Inc. 汉江生物研究所株式会社",
    ),
    "304": (
        "Alpenwiese Milchwerk GmbH 阿尔卑草场乳品有限公司",
        "Aerostil Haushaltsgeräte GmbH 艾风家电有限公司",
        "Rheinquell Naturkost AG 莱茵泉天然食品股份公司",
    ),
    "305": (
        "Maison Aube Parfums SAS 晨曦之家香水公司",
        "Château Lune Vignobles SARL 月影酒庄葡萄园公司",
        "Source d'Azur Eaux Minérales SA 蔚源矿泉水股份公司",
    ),
    "307": (
        "Colline d'Oro Vini S.r.l. 金丘酒业有限公司",
        "Caffè Duomo Torrefazione S.p.A. 穹顶咖啡烘焙股份公司",
    ),
    "309": ("Polder Goat Zuivel B.V. 圩田羊乳乳业有限公司",),
    "330": ("Nordic Flora Hälsa AB 北欧菌谷健康有限公司",),
    "331": ("Helvetia Cacao AG 赫尔维可可股份公司",),
    "502": (
        "SunLeaf Nutrition Inc. 阳叶营养品公司",
        "Kitchin Lab Appliances LLC 厨研社电器有限责任公司",
    ),
    "601": (
        "Southern Cross Dairy Pty Ltd 南十字乳业私人有限公司",
        "OceanVital Health Pty Ltd 海韵维他健康私人有限公司",
        "Outback Bee Honey Co. Pty Ltd 内陆蜂园蜂蜜私人有限公司",
        "Barossa Ridge Wines Pty Ltd 巴罗萨岭酒业私人有限公司",
    ),
    "609": (
        "Kiwi Meadow Nutrition Ltd 奇维牧场营养品有限公司",
        "Kiwi Hive Apiaries Ltd 奇维蜂巢养蜂场有限公司",
        "Canterbury Plains Dairy Ltd 坎特伯雷平原乳业有限公司",
    ),
}

#: Enterprise roles in a CEB import, keyed like the message fields (ebpCode, ebcCode, ...).
ENTERPRISE_ROLES: dict[str, str] = {
    "ebp": "电商平台",
    "ebc": "电商企业",
    "pay": "支付企业",
    "logistics": "物流企业",
    "agent": "申报企业",
    "assure": "担保企业",
    "warehouse": "保税仓库",
}

#: Name templates per role; ``{place}`` is a place name, ``{word}`` a trade-name word.
ENTERPRISE_TEMPLATES: dict[str, tuple[str, ...]] = {
    "ebp": (
        "{place}{word}跨境电子商务有限公司",
        "{place}{word}网络科技有限公司",
        "{place}{word}国际电子商务有限公司",
    ),
    "ebc": (
        "{place}{word}进出口贸易有限公司",
        "{place}{word}跨境商贸有限公司",
        "{place}{word}供应链管理有限公司",
        "{word}（香港）国际贸易有限公司",
    ),
    "pay": (
        "{place}{word}支付服务有限公司",
        "{word}网络支付有限公司",
        "{place}{word}电子支付有限公司",
    ),
    "logistics": (
        "{place}{word}国际物流有限公司",
        "{place}{word}供应链物流有限公司",
        "{word}速运（河南）有限公司",
    ),
    "agent": (
        "{place}{word}报关有限公司",
        "{place}{word}国际货运代理有限公司",
        "{place}{word}关务服务有限公司",
    ),
    "assure": (
        "{place}{word}融资担保有限公司",
        "{place}{word}跨境电子商务有限公司",
    ),
    "warehouse": (
        "{place}{word}保税仓储有限公司",
        "{place}{word}保税物流中心（B型）",
        "新郑综合保税区{word}保税仓库",
    ),
}

_ENTERPRISE_PLACES: tuple[str, ...] = ("河南", "郑州", "驻马店", "天中", "中原", "郑州航空港")
_TRADE_WORDS: tuple[str, ...] = (
    "嘉禾", "汇通", "天诚", "恒信", "鼎泰", "远航", "中欧", "丰源", "宏达", "锦程",
    "华辰", "联众", "优选", "沃野", "聚鑫", "盛世", "博远", "安达", "腾跃", "禾丰",
)  # fmt: skip


def make_enterprise_name(rng: random.Random, role: str, place: str | None = None) -> str:
    """A fictional enterprise name for ``role`` (a key of :data:`ENTERPRISE_ROLES`)."""
    template = rng.choice(ENTERPRISE_TEMPLATES[role])
    return template.format(
        place=place if place is not None else rng.choice(_ENTERPRISE_PLACES),
        word=rng.choice(_TRADE_WORDS),
    )
