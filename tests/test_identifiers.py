"""Tests for traceability.formats.identifiers: check characters, validation, generation, masking."""

from __future__ import annotations

import datetime as dt
import random

import pytest

from traceability.formats.identifiers import (
    gtin_check_digit,
    is_valid_customs_code,
    is_valid_gtin,
    is_valid_hs_code,
    is_valid_org_code,
    is_valid_resident_id,
    is_valid_uscc,
    make_gtin13,
    make_resident_id,
    make_uscc,
    mask_name,
    mask_phone,
    mask_resident_id,
    org_code_check_char,
    resident_id_check_char,
    uscc_check_char,
)

SEEDS = range(300)
TODAY = dt.date(2024, 6, 1)

# --- USCC ---------------------------------------------------------------------------

# Published codes: the GB 32100-2015 worked example (91350100M000100Y4? -> check '3')
# and codes collected in python-stdnum's test suite.
KNOWN_VALID_USCC = [
    "91350100M000100Y43",
    "91110000600037341L",
    "91110000710926094P",
    "9144030071526726XG",
    "91310115MA1K3BTP2B",
    "121200004013590816",
    "914112810713741814",
    "91340600MA2PBM9HXD",
    "92340603MA2UK2TA90",
]


@pytest.mark.parametrize("code", KNOWN_VALID_USCC)
def test_known_uscc_validate(code: str) -> None:
    assert is_valid_uscc(code)
    assert uscc_check_char(code[:17]) == code[17]


def test_gb32100_worked_example() -> None:
    # The standard's example: the last character Z is wrong, the check character is 3.
    assert uscc_check_char("91350100M000100Y4") == "3"
    assert not is_valid_uscc("91350100M000100Y4Z")


@pytest.mark.parametrize(
    "code",
    [
        "91110000600037341N",  # wrong check character
        "91350100M000100Y44",  # wrong check character
        "9111000060003IOZSV",  # I, O, Z, S, V are not in the alphabet
        "91350100M00010OY43",  # letter O instead of digit 0
        "91350100m000100Y43",  # lower case
        "91350100M000100Y4",  # 17 characters
        "91350100M000100Y433",  # 19 characters
        "",
    ],
)
def test_invalid_uscc(code: str) -> None:
    assert not is_valid_uscc(code)


@pytest.mark.parametrize("bad", ["I", "O", "Z", "S", "V"])
def test_uscc_excluded_letters_rejected_at_any_position(bad: str) -> None:
    code = "91350100M000100Y43"
    for i in range(18):
        assert not is_valid_uscc(code[:i] + bad + code[i + 1 :])


def test_uscc_check_char_rejects_bad_input() -> None:
    with pytest.raises(ValueError):
        uscc_check_char("1234")
    with pytest.raises(ValueError):
        uscc_check_char("9135010OM000100Y4")  # contains O


def test_is_valid_uscc_tolerates_non_strings() -> None:
    assert not is_valid_uscc(None)  # type: ignore[arg-type]
    assert not is_valid_uscc(913501001234567890)  # type: ignore[arg-type]


def test_org_code_check() -> None:
    # Organisation code embedded in the GB 32100 example, and one with check 'X'.
    assert org_code_check_char("M000100Y") == "4"
    assert is_valid_org_code("M000100Y4")
    assert is_valid_org_code("07837757X")
    assert not is_valid_org_code("M000100Y5")
    assert not is_valid_org_code("M000100Y")


def test_org_code_check_special_values() -> None:
    # C9 = 11 - (sum mod 11): 10 is written 'X', 11 is written '0'.
    assert org_code_check_char("00000001") == "9"  # sum 2 -> 11 - 2
    assert org_code_check_char("00000006") == "X"  # sum 12, 12 mod 11 = 1 -> 10
    assert org_code_check_char("00000000") == "0"  # sum 0 -> 11
    # Letters are worth A=10 .. Z=35 in GB 11714 (I, O, S, V, Z included).
    assert org_code_check_char("0000000A") == "2"  # sum 20, 20 mod 11 = 9 -> 2
    with pytest.raises(ValueError):
        org_code_check_char("0000000")


@pytest.mark.parametrize("seed", SEEDS)
def test_generated_uscc_validate(seed: int) -> None:
    rng = random.Random(seed)
    code = make_uscc(rng, region="411702")
    assert is_valid_uscc(code)
    assert code.startswith("91411702")
    assert is_valid_org_code(code[8:17])


def test_make_uscc_default_region_and_determinism() -> None:
    assert make_uscc(random.Random(7)) == make_uscc(random.Random(7))
    assert make_uscc(random.Random(7))[2:8] == "410000"
    with pytest.raises(ValueError):
        make_uscc(random.Random(1), region="41000")


# --- Resident identity number ---------------------------------------------------------

KNOWN_VALID_RID = [
    "11010519491231002X",  # GB 11643-1999 appendix example
    "440524188001010014",  # GB 11643-1999 appendix example (born 1880: too old for us)
    "360426199101010071",
    "44011320141005001X",
    "412723199010050012",
    "110102199101010078",
    "370101190102039973",
]


@pytest.mark.parametrize("rid", KNOWN_VALID_RID)
def test_resident_id_check_chars(rid: str) -> None:
    assert resident_id_check_char(rid[:17]) == rid[17]


@pytest.mark.parametrize("rid", [r for r in KNOWN_VALID_RID if r[6:10] >= "1900"])
def test_known_resident_ids_validate(rid: str) -> None:
    assert is_valid_resident_id(rid, today=TODAY)


def test_resident_id_lower_case_x_accepted() -> None:
    assert is_valid_resident_id("44011320141005001x", today=TODAY)


@pytest.mark.parametrize(
    "rid",
    [
        "36042619910102009X",  # wrong check character
        "360426199101010070",  # wrong check character
        "360426199113010079",  # month 13
        "360426199102300070",  # 30 February
        "440524188001010014",  # born 1880, before 1900 (check char is right)
        "T60426199101010078",  # letter in the body
        "36042619910101007",  # 17 characters
        "3604261991010100711",  # 19 characters
        "990426199112010074",  # unknown province 99
        "",
    ],
)
def test_invalid_resident_ids(rid: str) -> None:
    assert not is_valid_resident_id(rid, today=TODAY)


def test_resident_id_birth_in_future_rejected() -> None:
    first17 = "41170220300101001"
    rid = first17 + resident_id_check_char(first17)
    assert not is_valid_resident_id(rid, today=TODAY)
    assert is_valid_resident_id(rid, today=dt.date(2030, 1, 1))


def test_resident_id_rejects_unicode_digits() -> None:
    assert not is_valid_resident_id("１１０１０５１９４９１２３１００２X", today=TODAY)


@pytest.mark.parametrize("seed", SEEDS)
def test_generated_resident_ids_validate(seed: int) -> None:
    rng = random.Random(seed)
    birth = dt.date(1950, 1, 1) + dt.timedelta(days=rng.randint(0, 25_000))
    rid = make_resident_id(rng, "411702", birth)
    assert is_valid_resident_id(rid, today=TODAY)
    assert rid.startswith("411702")
    assert rid[6:14] == birth.strftime("%Y%m%d")


def test_make_resident_id_sex_digit() -> None:
    rng = random.Random(3)
    birth = dt.date(1990, 3, 7)
    for _ in range(50):
        assert int(make_resident_id(rng, "410105", birth, female=True)[16]) % 2 == 0
        assert int(make_resident_id(rng, "410105", birth, female=False)[16]) % 2 == 1


def test_make_resident_id_rejects_bad_input() -> None:
    with pytest.raises(ValueError):
        make_resident_id(random.Random(1), "4117", dt.date(1990, 1, 1))
    with pytest.raises(ValueError):
        make_resident_id(random.Random(1), "411702", dt.date(1899, 12, 31))


# --- GTIN ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "gtin",
    [
        "96385074",  # GTIN-8
        "036000291452",  # GTIN-12 (UPC-A)
        "4006381333931",  # GTIN-13 (EAN-13)
        "6901234567892",  # GTIN-13 with a Chinese prefix
        "10614141000415",  # GTIN-14
    ],
)
def test_valid_gtins(gtin: str) -> None:
    assert is_valid_gtin(gtin)
    assert gtin_check_digit(gtin[:-1]) == gtin[-1]


@pytest.mark.parametrize(
    "gtin",
    [
        "4006381333932",  # wrong check digit
        "400638133393",  # 12 digits whose last is not the check
        "40063813339311",  # wrong GTIN-14
        "4006381333",  # unsupported length
        "40063813339A1",  # letter
        "",
    ],
)
def test_invalid_gtins(gtin: str) -> None:
    assert not is_valid_gtin(gtin)


@pytest.mark.parametrize("seed", SEEDS)
def test_generated_gtin13_validate(seed: int) -> None:
    rng = random.Random(seed)
    prefix = rng.choice(["690", "45", "93", "400", "880"])
    gtin = make_gtin13(rng, prefix)
    assert len(gtin) == 13
    assert gtin.startswith(prefix)
    assert is_valid_gtin(gtin)


def test_make_gtin13_rejects_bad_prefix() -> None:
    with pytest.raises(ValueError):
        make_gtin13(random.Random(1), "69A")
    with pytest.raises(ValueError):
        make_gtin13(random.Random(1), "1234567890123")


# --- Customs codes ------------------------------------------------------------------


def test_hs_codes() -> None:
    assert is_valid_hs_code("1901101090")
    assert is_valid_hs_code("3304990099")
    assert not is_valid_hs_code("19011010")  # 8-digit tariff heading only
    assert not is_valid_hs_code("19011010900")
    assert not is_valid_hs_code("1901.10.10")
    assert not is_valid_hs_code("190110109O")
    assert not is_valid_hs_code("１９０１１０１０９０")  # full-width digits
    assert not is_valid_hs_code(None)  # type: ignore[arg-type]


def test_customs_codes() -> None:
    assert is_valid_customs_code("1101110325")
    assert is_valid_customs_code("3301961Q43")
    assert is_valid_customs_code("44079610EA")
    assert not is_valid_customs_code("3301961q43")  # lower case
    assert not is_valid_customs_code("3301961Q4")  # 9 characters
    assert not is_valid_customs_code("3301961Q-3")
    assert not is_valid_customs_code("")


# --- Masking ------------------------------------------------------------------------


def test_mask_examples() -> None:
    assert mask_resident_id("410102199003071234") == "4101**********1234"
    assert mask_resident_id("11010519491231002X") == "1101**********002X"
    assert mask_phone("13812345678") == "138****5678"
    assert mask_name("张三丰") == "张**"
    assert mask_name("李四") == "李*"
    assert mask_name("欧阳娜娜") == "欧***"


@pytest.mark.parametrize("value", [None, "", " ", "1", "12", "1234", "12345678", "王", "ab"])
def test_masks_handle_odd_input(value: str | None) -> None:
    for mask in (mask_resident_id, mask_phone, mask_name):
        out = mask(value)
        assert isinstance(out, str)
        stripped = (value or "").strip()
        assert len(out) == len(stripped)
        if len(stripped) >= 1:
            assert "*" in out  # something is always hidden


def test_short_values_keep_at_most_half() -> None:
    out = mask_resident_id("12345678")
    assert out == "12****78"
    assert out.count("*") >= len(out) / 2
    assert mask_phone("1234") == "1**4"
