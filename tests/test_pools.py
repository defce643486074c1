"""Tests for the static reference data in traceability.demo.generator.pools."""

from __future__ import annotations

import datetime as dt
import random
import re
from decimal import Decimal

import pytest

from traceability.demo.generator import pools
from traceability.demo.generator.pools import (
    COUNTRIES,
    CUSTOMS_OFFICES,
    CUSTOMS_UNITS,
    DISTRICTS,
    ENTERPRISE_ROLES,
    ENTERPRISE_TEMPLATES,
    FOREIGN_MANUFACTURERS,
    GIVEN_NAME_CHARS,
    GS1_PREFIXES,
    HENAN_CUSTOMS_CODES,
    PRODUCTS,
    SURNAME_WEIGHTS,
    SURNAMES,
    ZHUMADIAN_CODES,
    district_by_code,
    make_address,
    make_enterprise_name,
    make_mobile,
    make_person_name,
    make_product_barcode,
    sample_price,
)
from traceability.formats.identifiers import (
    is_valid_gtin,
    is_valid_hs_code,
    is_valid_resident_id,
    make_resident_id,
    make_uscc,
)

SEEDS = range(200)
HAN = re.compile(r"[\u4e00-\u9fff]+")
MOBILE = re.compile(r"1(3[0-9]|5[0-35-9]|7[35-8]|8[0-9]|9[135-9])[0-9]{8}")


# --- Districts ----------------------------------------------------------------------


def test_district_codes_are_six_digits_and_unique() -> None:
    codes = [d.code for d in DISTRICTS]
    assert len(codes) >= 60
    assert len(set(codes)) == len(codes)
    for code in codes:
        assert re.fullmatch(r"[1-8][0-9]{5}", code), code
        assert not code.endswith("00"), code  # county level, not a prefecture


def test_districts_span_many_provinces() -> None:
    assert len({d.province for d in DISTRICTS}) >= 12
    assert len({d.code[:2] for d in DISTRICTS}) >= 12


def test_district_code_prefix_matches_its_province() -> None:
    province_of_prefix: dict[str, str] = {}
    for d in DISTRICTS:
        assert province_of_prefix.setdefault(d.code[:2], d.province) == d.province
    # Districts of the same city share the first four digits.
    city_of_prefix: dict[str, str] = {}
    for d in DISTRICTS:
        assert city_of_prefix.setdefault(d.code[:4], d.city) == d.city


def test_zhumadian_has_all_ten_county_units() -> None:
    expected = {
        "411702": "驿城区",
        "411721": "西平县",
        "411722": "上蔡县",
        "411723": "平舆县",
        "411724": "正阳县",
        "411725": "确山县",
        "411726": "泌阳县",
        "411727": "汝南县",
        "411728": "遂平县",
        "411729": "新蔡县",
    }
    assert set(ZHUMADIAN_CODES) == set(expected)
    for code, name in expected.items():
        d = district_by_code(code)
        assert (d.province, d.city, d.name) == ("河南省", "驻马店市", name)


def test_zhengzhou_present() -> None:
    zhengzhou = [d for d in DISTRICTS if d.code.startswith("4101")]
    assert len(zhengzhou) >= 8
    assert all(d.city == "郑州市" for d in zhengzhou)
    assert district_by_code("410105").name == "金水区"


def test_every_district_has_distinct_streets() -> None:
    for d in DISTRICTS:
        assert len(d.streets) >= 3, d
        assert len(set(d.streets)) == len(d.streets), d
        assert all(s.endswith(pools.STREET_SUFFIXES) for s in d.streets), d


def test_district_by_code_unknown() -> None:
    with pytest.raises(KeyError):
        district_by_code("999999")


@pytest.mark.parametrize("seed", SEEDS)
def test_make_address_contains_names(seed: int) -> None:
    rng = random.Random(seed)
    d = rng.choice(DISTRICTS)
    address = make_address(rng, d)
    assert address.startswith(d.province)
    assert d.province in address and d.city in address and d.name in address
    assert any(street in address for street in d.streets)
    assert re.search(r"\d+号\d+栋\d+单元\d+室$", address), address


def test_municipality_address_mentions_city_once() -> None:
    d = district_by_code("110108")
    address = make_address(random.Random(1), d)
    assert address.startswith("北京市海淀区")
    assert address.count("北京市") == 1


def test_district_codes_work_for_resident_ids_and_uscc() -> None:
    rng = random.Random(5)
    for d in DISTRICTS:
        birth = dt.date(1960, 1, 1) + dt.timedelta(days=rng.randint(0, 20_000))
        rid = make_resident_id(rng, d.code, birth)
        assert is_valid_resident_id(rid)
        assert make_uscc(rng, region=d.code)[2:8] == d.code


# --- People -------------------------------------------------------------------------


def test_surnames_and_weights() -> None:
    assert len(SURNAMES) >= 100
    assert len(set(SURNAMES)) == len(SURNAMES)
    assert len(SURNAME_WEIGHTS) == len(SURNAMES)
    assert all(w > 0 for w in SURNAME_WEIGHTS)
    assert list(SURNAME_WEIGHTS) == sorted(SURNAME_WEIGHTS, reverse=True)
    assert all(HAN.fullmatch(s) for s in SURNAMES)


def test_given_name_chars() -> None:
    assert len(GIVEN_NAME_CHARS) >= 200
    assert len(set(GIVEN_NAME_CHARS)) == len(GIVEN_NAME_CHARS)
    assert all(len(c) == 1 and HAN.fullmatch(c) for c in GIVEN_NAME_CHARS)


@pytest.mark.parametrize("seed", SEEDS)
def test_person_names_well_formed(seed: int) -> None:
    name = make_person_name(random.Random(seed))
    assert 2 <= len(name) <= 3
    assert HAN.fullmatch(name)
    assert name[0] in SURNAMES
    assert all(c in GIVEN_NAME_CHARS for c in name[1:])


def test_surname_weighting_favours_common_names() -> None:
    rng = random.Random(0)
    firsts = [make_person_name(rng)[0] for _ in range(5000)]
    assert firsts.count("王") > firsts.count("常") * 3


@pytest.mark.parametrize("seed", SEEDS)
def test_mobiles_well_formed(seed: int) -> None:
    mobile = make_mobile(random.Random(seed))
    assert MOBILE.fullmatch(mobile), mobile


def test_mobile_prefixes_cover_the_required_ranges() -> None:
    heads = {p[:2] for p in pools.MOBILE_PREFIXES}
    assert heads == {"13", "15", "17", "18", "19"}
    assert all(MOBILE.fullmatch(p + "00000000") for p in pools.MOBILE_PREFIXES)


# --- Customs parameters -------------------------------------------------------------


def test_countries_are_three_digit_customs_codes() -> None:
    for code, name in COUNTRIES.items():
        assert re.fullmatch(r"[1-7][0-9]{2}", code), code
        assert HAN.search(name)
    # Spot checks against the JGS-20 table (customs codes, not ISO numeric codes).
    assert COUNTRIES["116"] == "日本"
    assert COUNTRIES["502"] == "美国"
    assert COUNTRIES["142"] == "中国"
    assert COUNTRIES["609"] == "新西兰"


def test_units() -> None:
    assert CUSTOMS_UNITS["007"] == "个"
    assert CUSTOMS_UNITS["011"] == "件"
    assert CUSTOMS_UNITS["035"] == "千克"
    assert all(re.fullmatch(r"[0-9]{3}", code) for code in CUSTOMS_UNITS)


def test_customs_offices() -> None:
    assert all(re.fullmatch(r"[0-9]{4}", code) for code in CUSTOMS_OFFICES)
    assert "4600" in CUSTOMS_OFFICES
    assert "4612" in HENAN_CUSTOMS_CODES
    assert all(code.startswith("46") for code in HENAN_CUSTOMS_CODES)


def test_gs1_prefixes_reference_known_countries() -> None:
    for country, prefixes in GS1_PREFIXES.items():
        assert country in COUNTRIES
        assert all(re.fullmatch(r"[0-9]{2,3}", p) for p in prefixes)


# --- Products -----------------------------------------------------------------------


def test_product_pool_size_and_variety() -> None:
    assert len(PRODUCTS) >= 30
    assert len({p.category for p in PRODUCTS}) >= 8
    assert len({p.origin_country for p in PRODUCTS}) >= 8
    assert len({(p.brand, p.name_zh) for p in PRODUCTS}) == len(PRODUCTS)


@pytest.mark.parametrize("product", PRODUCTS, ids=lambda p: p.name_zh)
def test_product_fields(product: pools.ProductSpec) -> None:
    assert is_valid_hs_code(product.hs_code)
    assert product.origin_country in COUNTRIES
    assert product.origin_country != "142"  # imports only
    assert CUSTOMS_UNITS[product.unit] == product.unit_name
    assert isinstance(product.price_low, Decimal)
    assert Decimal("0") < product.price_low < product.price_high
    # Everything fits one cross-border retail transaction (5,000 CNY since 2019).
    assert product.price_high <= Decimal("5000")
    assert product.name_zh and product.brand and product.gmodel


def test_infant_formula_uses_the_current_code() -> None:
    formula = [p for p in PRODUCTS if p.category == "婴幼儿配方奶粉"]
    assert formula
    assert {p.hs_code for p in formula} == {"1901101090"}


@pytest.mark.parametrize("seed", SEEDS)
def test_sample_price_in_range(seed: int) -> None:
    rng = random.Random(seed)
    product = rng.choice(PRODUCTS)
    price = sample_price(rng, product)
    assert product.price_low <= price <= product.price_high
    assert price == price.quantize(Decimal("0.01"))


@pytest.mark.parametrize("seed", SEEDS)
def test_product_barcodes(seed: int) -> None:
    rng = random.Random(seed)
    product = rng.choice(PRODUCTS)
    barcode = make_product_barcode(rng, product.origin_country)
    assert is_valid_gtin(barcode)
    assert barcode.startswith(GS1_PREFIXES[product.origin_country])


def test_barcode_for_unknown_country_falls_back_to_china() -> None:
    assert make_product_barcode(random.Random(1), "999").startswith("69")


# --- Enterprises --------------------------------------------------------------------


def test_foreign_manufacturers() -> None:
    origins = {p.origin_country for p in PRODUCTS}
    assert origins <= set(FOREIGN_MANUFACTURERS)
    for country, names in FOREIGN_MANUFACTURERS.items():
        assert country in COUNTRIES
        assert names
        for name in names:
            assert re.search(r"[A-Za-z]", name) and HAN.search(name), name


def test_enterprise_templates_cover_every_role() -> None:
    assert set(ENTERPRISE_TEMPLATES) == set(ENTERPRISE_ROLES)
    assert set(ENTERPRISE_ROLES.values()) >= {"电商平台", "电商企业", "支付企业", "物流企业"}


@pytest.mark.parametrize("role", sorted(ENTERPRISE_ROLES))
def test_make_enterprise_name(role: str) -> None:
    rng = random.Random(11)
    for _ in range(20):
        name = make_enterprise_name(rng, role)
        assert "{" not in name and "}" not in name
        assert name.endswith(("公司", "仓库", "（B型）"))
    assert make_enterprise_name(rng, "ebp", place="驻马店").startswith("驻马店")


def test_make_enterprise_name_unknown_role() -> None:
    with pytest.raises(KeyError):
        make_enterprise_name(random.Random(1), "bank")
