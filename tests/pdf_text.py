"""The text layer of a PDF that headless Chromium printed: what copy, search and a screen
reader get from it (glyphs drawn as pictures would have none)."""

from __future__ import annotations

import re
import unicodedata
import zlib

# Chromium maps a glyph shared by an ideograph and a radical to either.  NFKC folds the
# Kangxi radicals (⾛ → 走); the CJK Radicals Supplement it leaves alone, so the simplified
# ones are folded here (Unicode's EquivalentUnifiedIdeograph.txt).
RADICALS = str.maketrans(
    "⻄⻅⻆⻉⻋⻓⻔⻘⻙⻚⻛⻜⻝⻢⻥⻦⻨⻩⻬⻮⻰⻳", "西见角贝车长门青韦页风飞食马鱼鸟麦黄齐齿龙龟"
)


def text_layer_characters(pdf: bytes) -> set[str]:
    """Every character a font's ToUnicode map gives (what copy and search get), NFKC and
    radicals folded to their ideographs."""
    found: set[str] = set()
    for raw in re.findall(rb"stream\r?\n(.*?)endstream", pdf, re.S):
        try:
            data = zlib.decompressobj().decompress(raw)
        except zlib.error:
            continue
        if b"begincmap" not in data:
            continue
        for block in re.findall(rb"beginbfchar(.*?)endbfchar", data, re.S):
            for _, target in re.findall(rb"<([0-9A-Fa-f]+)>\s*<([0-9A-Fa-f]+)>", block):
                found.update(bytes.fromhex(target.decode()).decode("utf-16-be"))
        for block in re.findall(rb"beginbfrange(.*?)endbfrange", data, re.S):
            for lo, hi, start in re.findall(
                rb"<([0-9A-Fa-f]+)>\s*<([0-9A-Fa-f]+)>\s*<([0-9A-Fa-f]+)>", block
            ):
                first = int(start, 16)
                found.update(chr(first + i) for i in range(int(hi, 16) - int(lo, 16) + 1))
    folded: set[str] = set()
    for c in found:
        folded.update(unicodedata.normalize("NFKC", c).translate(RADICALS))
    return folded
