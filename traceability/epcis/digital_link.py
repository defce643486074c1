"""EPC URIs and GS1 Digital Link URIs to the constrained canonical GS1 Digital Link form.

This is rules 17 and 18 of the CBV 2.0 event hash: every identifier is hashed as
``https://id.gs1.org/<AI>/<key>[/<qualifier AI>/<value>]`` at the finest level of
identification, whatever syntax the sender used.  ``canonical`` returns ``None`` for a
value that is not a GS1 identifier (it is then hashed as written), exactly as the
reference implementation does, including its leniency: any http(s) URI whose path holds a
GS1 primary-key segment (``.../8004/4012…``) is treated as a Digital Link on a custom
domain.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable

from traceability.formats.identifiers import gtin_check_digit

DL = "https://id.gs1.org/"

# Characters an EPC URI component may hold (TDS "GS3A3"), percent escapes included.
_C = (
    r"(?:%2[125-9A-Fa-f]|%3[0-9A-Fa-f]|%4[1-9A-Fa-f]|%5[0-9AaFf]|%6[1-9A-Fa-f]|%7[0-9Aa]"
    r"|[!')(*+,.0-9:;=A-Za-z_-])"
)
_CPI = r"(?:%2[3dfDF]|%3[0-9]|%4[1-9A-Fa-f]|%5[0-9Aa]|[0-9A-Z-])"


@functools.lru_cache(maxsize=65536)
def _cd(body: str) -> str:
    return body + gtin_check_digit(body)


def _pct(value: str) -> str:
    """EPC URI components go into the Digital Link as written.

    GS1 Digital Link would percent-encode ``!()*+,:``; the reference implementation's
    current vectors (epclist_normalisation) keep them literal, and the vectors win.
    """
    return value


def _gtin14(company: str, item_ref: str) -> str:
    return _cd(item_ref[0] + company + item_ref[1:])


def _sgtin(m: re.Match[str]) -> str:
    return f"{DL}01/{_gtin14(m[1], m[2])}/21/{_pct(m[3])}"


def _sscc(m: re.Match[str]) -> str:
    ref = m[2]
    return f"{DL}00/{_cd(ref[0] + m[1] + ref[1:])}"


def _sgln(m: re.Match[str]) -> str:
    gln = _cd(m[1] + m[2])
    return f"{DL}414/{gln}" if m[3] == "0" else f"{DL}414/{gln}/254/{_pct(m[3])}"


def _grai(m: re.Match[str]) -> str:
    return f"{DL}8003/{_cd('0' + m[1] + m[2])}{_pct(m[3])}"


def _giai(m: re.Match[str]) -> str:
    return f"{DL}8004/{m[1]}{_pct(m[2])}"


def _gsrn(ai: str) -> Callable[[re.Match[str]], str]:
    return lambda m: f"{DL}{ai}/{_cd(m[1] + m[2])}"


def _gdti(m: re.Match[str]) -> str:
    return f"{DL}253/{_cd(m[1] + m[2])}{_pct(m[3])}"


def _cpi(m: re.Match[str]) -> str:
    return f"{DL}8010/{_pct(m[1] + m[2])}/8011/{m[3]}"


def _sgcn(m: re.Match[str]) -> str:
    return f"{DL}255/{_cd(m[1] + m[2])}{m[3]}"


def _ginc(m: re.Match[str]) -> str:
    return f"{DL}401/{m[1]}{_pct(m[2])}"


def _gsin(m: re.Match[str]) -> str:
    return f"{DL}402/{_cd(m[1] + m[2])}"


def _itip(m: re.Match[str]) -> str:
    return f"{DL}8006/{_gtin14(m[1], m[2])}{m[3]}{m[4]}/21/{_pct(m[5])}"


def _upui(m: re.Match[str]) -> str:
    return f"{DL}01/{_gtin14(m[1], m[2])}/235/{_pct(m[3])}"


def _pgln(m: re.Match[str]) -> str:
    return f"{DL}417/{_cd(m[1] + m[2])}"


def _lgtin(m: re.Match[str]) -> str:
    return f"{DL}01/{_gtin14(m[1], m[2])}/10/{_pct(m[3])}"


_EPC_RULES: list[tuple[str, re.Pattern[str], Callable[[re.Match[str]], str]]] = []


def _rule(prefix: str, body: str, build: Callable[[re.Match[str]], str]) -> None:
    _EPC_RULES.append((prefix, re.compile(body + r"\Z"), build))


_rule("urn:epc:id:sgtin:", rf"(\d{{6,12}})\.(\d{{1,7}})\.({_C}{{1,20}})", _sgtin)
_rule("urn:epc:id:sscc:", r"(\d{6,12})\.(\d{5,11})", _sscc)
_rule("urn:epc:id:sgln:", rf"(\d{{6,12}})\.(\d{{0,6}})\.({_C}{{1,20}})", _sgln)
_rule("urn:epc:id:grai:", rf"(\d{{6,12}})\.(\d{{0,6}})\.({_C}{{1,16}})", _grai)
_rule("urn:epc:id:giai:", rf"(\d{{6,12}})\.({_C}{{1,24}})", _giai)
_rule("urn:epc:id:gsrn:", r"(\d{6,12})\.(\d{5,11})", _gsrn("8018"))
_rule("urn:epc:id:gsrnp:", r"(\d{6,12})\.(\d{5,11})", _gsrn("8017"))
_rule("urn:epc:id:gdti:", rf"(\d{{6,12}})\.(\d{{0,6}})\.({_C}{{0,17}})", _gdti)
_rule("urn:epc:id:cpi:", rf"(\d{{6,12}})\.({_CPI}{{1,24}})\.(\d{{1,12}})", _cpi)
_rule("urn:epc:id:sgcn:", r"(\d{6,12})\.(\d{0,6})\.(\d{1,12})", _sgcn)
_rule("urn:epc:id:ginc:", rf"(\d{{6,12}})\.({_C}{{1,24}})", _ginc)
_rule("urn:epc:id:gsin:", r"(\d{6,12})\.(\d{4,10})", _gsin)
_rule("urn:epc:id:itip:", rf"(\d{{6,12}})\.(\d{{1,7}})\.(\d\d)\.(\d\d)\.({_C}{{1,20}})", _itip)
_rule("urn:epc:id:upui:", rf"(\d{{6,12}})\.(\d{{1,7}})\.({_C}{{1,28}})", _upui)
_rule("urn:epc:id:pgln:", r"(\d{6,12})\.(\d{0,6})", _pgln)
_rule("urn:epc:class:lgtin:", rf"(\d{{6,12}})\.(\d{{1,7}})\.({_C}{{1,20}})", _lgtin)
_rule(
    "urn:epc:idpat:sgtin:", r"(\d{6,12})\.(\d{1,7})\.\*", lambda m: f"{DL}01/{_gtin14(m[1], m[2])}"
)
_rule(
    "urn:epc:idpat:grai:",
    r"(\d{6,12})\.(\d{0,6})\.\*",
    lambda m: f"{DL}8003/{_cd('0' + m[1] + m[2])}",
)
_rule("urn:epc:idpat:gdti:", r"(\d{6,12})\.(\d{0,6})\.\*", lambda m: f"{DL}253/{_cd(m[1] + m[2])}")
_rule("urn:epc:idpat:sgcn:", r"(\d{6,12})\.(\d{0,6})\.\*", lambda m: f"{DL}255/{_cd(m[1] + m[2])}")
_rule(
    "urn:epc:idpat:cpi:",
    rf"(\d{{6,12}})\.({_CPI}{{1,24}})\.\*",
    lambda m: f"{DL}8010/{_pct(m[1] + m[2])}",
)
_rule("urn:epc:idpat:itip:", r"(\d{6,12})\.(\d{1,7})\.(\d\d)\.(\d\d)\.\*",
      lambda m: f"{DL}8006/{_gtin14(m[1], m[2])}{m[3]}{m[4]}")  # fmt: skip
_rule(
    "urn:epc:idpat:upui:", r"(\d{6,12})\.(\d{1,7})\.\*", lambda m: f"{DL}01/{_gtin14(m[1], m[2])}"
)

# Combined widths of company prefix + reference, per scheme: the regexes above accept any
# split, these totals make a URN with a wrong number of digits fall through unchanged.
_WIDTH = {
    "sgtin": 13, "sscc": 17, "sgln": 12, "grai": 12, "gsrn": 17, "gsrnp": 17, "gdti": 12,
    "sgcn": 12, "gsin": 16, "itip": 13, "upui": 13, "pgln": 12, "lgtin": 13,
}  # fmt: skip
_MAX_TOTAL = {"giai": 30, "ginc": 30, "cpi": 30}


def _epc(uri: str) -> str | None:
    for prefix, pattern, build in _EPC_RULES:
        if not uri.startswith(prefix):
            continue
        m = pattern.match(uri, len(prefix))
        if m is None:
            return None
        scheme = prefix.rstrip(":").rsplit(":", 1)[1]
        width = _WIDTH.get(scheme)
        if width is not None and len(m[1]) + len(m[2]) != width:
            return None
        limit = _MAX_TOTAL.get(scheme)
        if limit is not None and len(m[1]) + len(m[2]) > limit:
            return None
        return build(m)
    return None


# -- GS1 Digital Link URIs -----------------------------------------------------------------

_SHORT_NAMES = {
    "gtin": "01", "itip": "8006", "cpid": "8010", "gln": "414", "party": "417",
    "gsrnp": "8017", "gsrn": "8018", "gcn": "255", "sscc": "00", "gdti": "253",
    "ginc": "401", "gsin": "402", "grai": "8003", "giai": "8004", "cpv": "22",
    "lot": "10", "ser": "21",
}  # fmt: skip
_PRIMARY = ("00", "01", "253", "255", "401", "402", "414", "417",
            "8003", "8004", "8006", "8010", "8017", "8018")  # fmt: skip
_DL_SHAPE = re.compile(
    r"^https?:(//(([^/?#]*)@)?([^/?#:]*)(:([^/?#]*))?)?[^?#]*/"
    r"(01|gtin|8006|itip|8010|cpid|414|gln|417|party|8017|gsrnp|8018|gsrn|255|gcn|00|sscc"
    r"|253|gdti|401|ginc|402|gsin|8003|grai|8004|giai)/\d{4}[^/]+"
)
_X = r"[\x22\x27\x2D\x2E\x30-\x39\x3B-\x3F\x41-\x5A\x5F\x61-\x7A]"
_VALID = [
    re.compile(p + r"\Z")
    for p in (
        rf"{DL}00/\d{{18}}",
        rf"{DL}01/\d{{14}}/21/{_X}{{0,20}}",
        rf"{DL}01/\d{{14}}/10/{_X}{{0,20}}",
        rf"{DL}01/\d{{14}}",
        rf"{DL}01/\d{{14}}/235/{_X}{{0,28}}",
        rf"{DL}253/\d{{13}}{_X}{{0,17}}",
        rf"{DL}255/\d{{13}}\d{{0,12}}",
        rf"{DL}401/{_X}{{0,30}}",
        rf"{DL}402/\d{{17}}",
        rf"{DL}414/\d{{13}}",
        rf"{DL}414/\d{{13}}/254/{_X}{{0,20}}",
        rf"{DL}417/\d{{13}}",
        rf"{DL}8003/\d{{14}}{_X}{{0,16}}",
        rf"{DL}8004/{_X}{{0,30}}",
        rf"{DL}8006/\d{{18}}/21/{_X}{{0,20}}",
        rf"{DL}8006/\d{{18}}/10/{_X}{{0,20}}",
        rf"{DL}8006/\d{{18}}",
        rf"{DL}8010/[\x23\x2D\x2F\x30-\x39\x41-\x5A]{{0,30}}/8011/\d{{0,12}}",
        rf"{DL}8010/[\x23\x2D\x2F\x30-\x39\x41-\x5A]{{0,30}}",
        rf"{DL}8017/\d{{18}}",
        rf"{DL}8018/\d{{18}}",
    )
]


def _digital_link(uri: str) -> str | None:
    if not _DL_SHAPE.match(uri):
        return None
    uri = uri.split("?", 1)[0].split("#", 1)[0]
    for name, ai in _SHORT_NAMES.items():
        uri = uri.replace(f"/{name}/", f"/{ai}/")
    if not uri.startswith(DL):
        for ai in _PRIMARY:
            at = uri.find(f"/{ai}/")
            if at != -1:
                uri = DL.rstrip("/") + uri[at:]
                break
    gtin = re.match(rf"{re.escape(DL)}01/(\d+)", uri)
    if gtin and len(gtin[1]) in (8, 12, 13):
        uri = uri.replace("/01/", "/01/" + "0" * (14 - len(gtin[1])), 1)
    # Constrain to the finest identification: drop the CPV, and the lot when a serial is set.
    uri = re.sub(r"^(https://id\.gs1\.org/(?:01/\d{14}|8006/\d{18}))/22/[^/]*", r"\1", uri)
    uri = re.sub(r"^(https://id\.gs1\.org/(?:01/\d{14}|8006/\d{18}))/10/[^/]*(/21/)", r"\1\2", uri)
    return uri if any(p.match(uri) for p in _VALID) else None


@functools.lru_cache(maxsize=131072)
def canonical(value: str) -> str | None:
    """The constrained canonical GS1 Digital Link URI of an identifier, or None."""
    if "." not in value:
        return None
    if value.startswith("urn:epc:"):
        return _epc(value)
    if value.startswith("http"):
        return _digital_link(value)
    return None
