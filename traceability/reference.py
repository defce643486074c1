"""Reference data lookups used while ingesting: district and customs-office names.

The tables themselves live in :mod:`traceability.generator.pools` (real GB/T 2260 codes
and 关区代码); unknown codes are kept, with the code standing in for the name.
"""

from __future__ import annotations

from traceability.generator.pools import COUNTRIES, CUSTOMS_OFFICES, district_by_code


def district_info(code: str) -> dict[str, str]:
    try:
        district = district_by_code(code)
    except KeyError:
        return {"code": code, "name": code}
    return {
        "code": code,
        "name": district.name,
        "city": district.city,
        "province": district.province,
    }


def customs_office_name(code: str) -> str:
    return CUSTOMS_OFFICES.get(code, code)


def country_name(code: str | None) -> str:
    if not code:
        return ""
    return COUNTRIES.get(code, code)
