"""Check-character algorithms and masking for the identifiers carried in CEB messages.

Covers the unified social credit code (GB 32100-2015) with its embedded organisation
code (GB 11714-1997), the resident identity number (GB 11643-1999, ISO 7064 MOD 11-2),
GTIN-8/12/13/14, the 10-digit CEB commodity code and the 10-character customs
registration code. Everything here is pure and depends only on the standard library.

The ``make_*`` generators take an explicit :class:`random.Random` so that synthetic
worlds are reproducible from a seed.
"""

from __future__ import annotations

import datetime as dt
import random
import re

__all__ = [
    "ORG_CODE_ALPHABET",
    "USCC_ALPHABET",
    "gtin_check_digit",
    "is_valid_customs_code",
    "is_valid_gtin",
    "is_valid_hs_code",
    "is_valid_org_code",
    "is_valid_resident_id",
    "is_valid_uscc",
    "make_gtin13",
    "make_resident_id",
    "make_uscc",
    "mask_name",
    "mask_phone",
    "mask_resident_id",
    "org_code_check_char",
    "resident_id_check_char",
    "uscc_check_char",
]

# --- Unified social credit code (GB 32100-2015) -------------------------------------

#: The 31 characters a USCC may contain; the index of a character is its value.
#: I, O, Z, S and V are left out because they are easily confused with 1, 0, 2, 5 and U.
USCC_ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
_USCC_VALUE = {ch: i for i, ch in enumerate(USCC_ALPHABET)}
# W_i = 3^(i-1) mod 31.
_USCC_WEIGHTS = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)

# --- Organisation code (GB 11714-1997), positions 9-17 of a USCC --------------------

#: GB 11714 values digits 0-9 and *all* 26 Latin capitals A=10 .. Z=35.
#: (This differs from the USCC alphabet, where e.g. M is worth 21, not 22.)
ORG_CODE_ALPHABET = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"
_ORG_VALUE = {ch: i for i, ch in enumerate(ORG_CODE_ALPHABET)}
_ORG_WEIGHTS = (3, 7, 9, 10, 5, 8, 4, 2)

# --- Resident identity number (GB 11643-1999) ---------------------------------------

_RID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_RID_CHECK = "10X98765432"  # indexed by (weighted sum mod 11)
_RID_MIN_BIRTH = dt.date(1900, 1, 1)
#: First two digits of an address code: provinces, plus 81/82/83 used by residence
#: permits for Hong Kong, Macao and Taiwan residents.
_RID_PROVINCES = frozenset(
    {
        "11", "12", "13", "14", "15", "21", "22", "23", "31", "32", "33", "34", "35", "36",
        "37", "41", "42", "43", "44", "45", "46", "50", "51", "52", "53", "54", "61", "62",
        "63", "64", "65", "71", "81", "82", "83",
    }
)  # fmt: skip

_GTIN_LENGTHS = frozenset({8, 12, 13, 14})

_ASCII_DIGITS = re.compile(r"[0-9]+")
_HS_CODE = re.compile(r"[0-9]{10}")
_CUSTOMS_CODE = re.compile(r"[0-9A-Z]{10}")
_REGION_CODE = re.compile(r"[1-9][0-9]{5}")


def _is_digits(s: str) -> bool:
    """True for a non-empty string of ASCII digits (``str.isdigit`` also accepts '²', '٣')."""
    return _ASCII_DIGITS.fullmatch(s) is not None


# --- USCC ---------------------------------------------------------------------------


def uscc_check_char(first17: str) -> str:
    """Return the 18th (check) character of a USCC from its first 17 characters.

    Raises ``ValueError`` when ``first17`` is not 17 characters of :data:`USCC_ALPHABET`.
    """
    if len(first17) != 17 or any(ch not in _USCC_VALUE for ch in first17):
        raise ValueError(f"not 17 USCC characters: {first17!r}")
    total = sum(_USCC_VALUE[ch] * w for ch, w in zip(first17, _USCC_WEIGHTS, strict=True))
    return USCC_ALPHABET[(31 - total % 31) % 31]


def is_valid_uscc(code: str) -> bool:
    """True if ``code`` is 18 upper-case USCC characters with a correct check character.

    The embedded organisation code is not required to pass GB 11714: GB 32100 does not
    demand it, and codes issued by some registration authorities do not follow it.
    """
    if not isinstance(code, str) or len(code) != 18:
        return False
    if any(ch not in _USCC_VALUE for ch in code):
        return False
    return uscc_check_char(code[:17]) == code[17]


def org_code_check_char(first8: str) -> str:
    """Return the 9th (check) character of a GB 11714 organisation code.

    ``C9 = 11 - (sum(Ci * Wi) mod 11)``; 10 is written ``X`` and 11 is written ``0``.
    """
    if len(first8) != 8 or any(ch not in _ORG_VALUE for ch in first8):
        raise ValueError(f"not 8 organisation-code characters: {first8!r}")
    total = sum(_ORG_VALUE[ch] * w for ch, w in zip(first8, _ORG_WEIGHTS, strict=True))
    c9 = 11 - total % 11
    if c9 == 10:
        return "X"
    if c9 == 11:
        return "0"
    return str(c9)


def is_valid_org_code(code: str) -> bool:
    """True if ``code`` is a 9-character organisation code (no hyphen) with a valid check."""
    if not isinstance(code, str) or len(code) != 9:
        return False
    if any(ch not in _ORG_VALUE for ch in code[:8]):
        return False
    return org_code_check_char(code[:8]) == code[8]


def _make_org_body(rng: random.Random) -> str:
    """Eight organisation-code characters that are also legal USCC characters.

    About half follow the ``MA`` + 6 pattern of codes assigned since the 2015 reform, the
    rest are the older all-digit form.
    """
    if rng.random() < 0.5:
        return "MA" + "".join(rng.choice(USCC_ALPHABET) for _ in range(6))
    return "".join(rng.choice("0123456789") for _ in range(8))


def make_uscc(rng: random.Random, region: str = "410000") -> str:
    """Generate a plausible, valid USCC for a company registered in ``region``.

    Registration department ``9`` (market regulation) and organisation type ``1``
    (enterprise), the 6-digit administrative ``region``, a GB 11714 organisation code
    with its own check character, then the GB 32100 check character.
    """
    if _REGION_CODE.fullmatch(region) is None:
        raise ValueError(f"region must be a 6-digit administrative code: {region!r}")
    body = _make_org_body(rng)
    org = body + org_code_check_char(body)  # the check is a digit or X: both USCC-legal
    first17 = "91" + region + org
    return first17 + uscc_check_char(first17)


# --- Resident identity number -------------------------------------------------------


def resident_id_check_char(first17: str) -> str:
    """Return the 18th character of a resident identity number (ISO 7064 MOD 11-2)."""
    if len(first17) != 17 or not _is_digits(first17):
        raise ValueError(f"not 17 digits: {first17!r}")
    total = sum(int(ch) * w for ch, w in zip(first17, _RID_WEIGHTS, strict=True))
    return _RID_CHECK[total % 11]


def _birth_date(s: str) -> dt.date | None:
    try:
        return dt.date(int(s[6:10]), int(s[10:12]), int(s[12:14]))
    except ValueError:
        return None


def is_valid_resident_id(s: str, *, today: dt.date | None = None) -> bool:
    """True if ``s`` is a well-formed 18-character resident identity number.

    Checks the length, the digits, a known province prefix, a real birth date (digits
    7-14) between 1900-01-01 and ``today`` (default: the current date), and the check
    character. A lower-case ``x`` is accepted as ``X``.
    """
    if not isinstance(s, str) or len(s) != 18:
        return False
    body, check = s[:17], s[17].upper()
    if not _is_digits(body) or not (check == "X" or _is_digits(check)):
        return False
    if body[:2] not in _RID_PROVINCES:
        return False
    birth = _birth_date(body)
    if birth is None or birth < _RID_MIN_BIRTH or birth > (today or dt.date.today()):
        return False
    return resident_id_check_char(body) == check


def make_resident_id(
    rng: random.Random,
    district: str,
    birth: dt.date,
    *,
    female: bool | None = None,
) -> str:
    """Generate a valid resident identity number for someone born in ``district``.

    ``district`` is a 6-digit GB/T 2260 county code. The sequence code's last digit is
    odd for men and even for women; ``female=None`` picks at random.
    """
    if _REGION_CODE.fullmatch(district) is None:
        raise ValueError(f"district must be a 6-digit administrative code: {district!r}")
    if birth < _RID_MIN_BIRTH:
        raise ValueError(f"birth date before 1900: {birth}")
    if female is None:
        female = rng.random() < 0.5
    seq = rng.randint(0, 99) * 10 + rng.choice((0, 2, 4, 6, 8) if female else (1, 3, 5, 7, 9))
    if seq == 0:  # sequence 000 is not issued
        seq = 2
    first17 = f"{district}{birth:%Y%m%d}{seq:03d}"
    return first17 + resident_id_check_char(first17)


# --- GTIN ---------------------------------------------------------------------------


def gtin_check_digit(body: str) -> str:
    """Return the GS1 mod-10 check digit for ``body`` (a GTIN without its last digit).

    Weights 3 and 1 alternate from the right, starting with 3 on the rightmost digit
    of the body, so the same function serves GTIN-8, -12, -13 and -14.
    """
    if not _is_digits(body):
        raise ValueError(f"GTIN body must be digits: {body!r}")
    total = sum(int(ch) * (3 if i % 2 == 0 else 1) for i, ch in enumerate(reversed(body)))
    return str((10 - total % 10) % 10)


def is_valid_gtin(s: str) -> bool:
    """True for a GTIN-8, GTIN-12 (UPC-A), GTIN-13 (EAN-13) or GTIN-14 with a valid check."""
    if not isinstance(s, str) or len(s) not in _GTIN_LENGTHS or not _is_digits(s):
        return False
    return gtin_check_digit(s[:-1]) == s[-1]


def make_gtin13(rng: random.Random, prefix: str) -> str:
    """Generate a valid GTIN-13 starting with ``prefix`` (e.g. a GS1 prefix like ``"690"``)."""
    if not _is_digits(prefix) or len(prefix) > 12:
        raise ValueError(f"prefix must be 1-12 digits: {prefix!r}")
    body = prefix + "".join(rng.choice("0123456789") for _ in range(12 - len(prefix)))
    return body + gtin_check_digit(body)


# --- Customs codes ------------------------------------------------------------------


def is_valid_hs_code(s: str) -> bool:
    """True for a CEB ``gcode``: exactly 10 ASCII digits (8-digit tariff line + 2)."""
    return isinstance(s, str) and _HS_CODE.fullmatch(s) is not None


def is_valid_customs_code(s: str) -> bool:
    """True for a 10-character customs registration code (海关注册编码), e.g. ``3301961Q43``.

    The format is 10 upper-case letters or digits; no public check character exists.
    """
    return isinstance(s, str) and _CUSTOMS_CODE.fullmatch(s) is not None


# --- Masking for display ------------------------------------------------------------


def _mask_middle(s: str | None, head: int, tail: int) -> str:
    """Keep ``head`` leading and ``tail`` trailing characters and star the rest.

    When the value is too short to keep that much, at most a quarter is kept at each
    end so that at least half of it is always hidden.
    """
    if not s:
        return ""
    s = str(s).strip()
    n = len(s)
    if n <= head + tail:
        head = tail = n // 4
    kept_tail = s[n - tail :] if tail else ""
    return s[:head] + "*" * (n - head - tail) + kept_tail


def mask_resident_id(s: str | None) -> str:
    """Mask an identity number for display: ``410102199003071234`` -> ``4101**********1234``."""
    return _mask_middle(s, 4, 4)


def mask_phone(s: str | None) -> str:
    """Mask a phone number for display: ``13812345678`` -> ``138****5678``."""
    return _mask_middle(s, 3, 4)


def mask_name(s: str | None) -> str:
    """Mask a personal name, keeping the first character: ``张三丰`` -> ``张**``.

    A one-character value is starred completely.
    """
    if not s:
        return ""
    s = str(s).strip()
    if len(s) <= 1:
        return "*" * len(s)
    return s[0] + "*" * (len(s) - 1)
