"""The case file as PDF: the HTML export printed by headless Chromium.

Chromium (Debian package ``chromium``) runs offline, lays out CJK text with the system's
fonts through fontconfig (Debian ``fonts-noto-cjk``) and writes real text with a ToUnicode
map (searchable and copyable).  It is started per export with a throw-away profile, no
network (every request goes to a closed local proxy), and a time limit.  ``[cases]
pdf_browser`` names the executable; empty means ``chromium`` or ``chromium-browser`` on
PATH.  Without one, a PDF export answers 503 naming the renderer.
"""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from pathlib import Path

from traceability.errors import StoreUnavailable

CANDIDATES = ("chromium", "chromium-browser", "google-chrome")


def find_browser(configured: str = "") -> str | None:
    if configured:
        return shutil.which(configured) or (configured if Path(configured).is_file() else None)
    return next((found for name in CANDIDATES if (found := shutil.which(name))), None)


def render_pdf(html: str, browser: str | None, timeout: float = 60.0) -> bytes:
    if browser is None:
        raise StoreUnavailable(
            "PDF 导出需要无界面浏览器 chromium（apt-get install chromium fonts-noto-cjk），"
            "或在 [cases] pdf_browser 中指定其路径",
            store="pdf-renderer",
        )
    with tempfile.TemporaryDirectory(prefix="qtrace-pdf-") as work:
        folder = Path(work)
        source, target = folder / "case.html", folder / "case.pdf"
        source.write_text(html, encoding="utf-8")
        command = [
            browser, "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
            "--disable-extensions", "--disable-background-networking", "--disable-sync",
            "--proxy-server=127.0.0.1:9", "--proxy-bypass-list=<-loopback>",
            f"--user-data-dir={folder / 'profile'}", "--no-pdf-header-footer",
            f"--print-to-pdf={target}", source.as_uri(),
        ]  # fmt: skip
        try:
            subprocess.run(command, capture_output=True, timeout=timeout, check=False)
        except (OSError, subprocess.TimeoutExpired) as exc:
            raise StoreUnavailable(f"PDF 渲染失败: {exc}", store="pdf-renderer") from None
        if not target.is_file() or not target.read_bytes().startswith(b"%PDF-"):
            raise StoreUnavailable("PDF 渲染器没有生成文件", store="pdf-renderer")
        return target.read_bytes()
