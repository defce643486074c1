"""HTML printed to PDF by headless Chromium, shared by every feature that exports PDF.

Chromium (Debian package ``chromium``) runs offline, lays out CJK text with the system's
fonts through fontconfig (Debian ``fonts-noto-cjk``) and writes real text with a ToUnicode
map (searchable and copyable); inline SVG charts are printed as vectors.  It is started per
document with a throw-away profile, no network (every request goes to a closed local
proxy) and a time limit.  ``browser`` names the executable; empty means ``chromium``,
``chromium-browser`` or ``google-chrome`` on PATH.  Without one, the caller gets
:class:`~traceability.errors.StoreUnavailable` (HTTP 503, exit code 10) naming Chromium.
"""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from pathlib import Path

from traceability.errors import StoreUnavailable

CANDIDATES = ("chromium", "chromium-browser", "google-chrome")
STORE = "Chromium"


def find_browser(configured: str = "") -> str | None:
    """The browser executable: the configured one (a name on PATH or a file), else the first
    of :data:`CANDIDATES` on PATH; None when there is none."""
    if configured:
        return shutil.which(configured) or (configured if Path(configured).is_file() else None)
    return next((found for name in CANDIDATES if (found := shutil.which(name))), None)


def render_pdf(html: str, browser: str | None, timeout: float = 60.0) -> bytes:
    """The PDF bytes of ``html`` (a self-contained page) printed by ``browser``."""
    if browser is None:
        raise StoreUnavailable(
            "PDF 导出需要无界面浏览器 Chromium（apt-get install chromium fonts-noto-cjk），"
            "或在设置中指定其路径（pdf_browser）",
            store=STORE,
        )
    with tempfile.TemporaryDirectory(prefix="qtrace-pdf-") as work:
        folder = Path(work)
        source, target = folder / "page.html", folder / "page.pdf"
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
            raise StoreUnavailable(f"PDF 渲染失败: {exc}", store=STORE) from None
        if not target.is_file() or not target.read_bytes().startswith(b"%PDF-"):
            raise StoreUnavailable("PDF 渲染器没有生成文件", store=STORE)
        return target.read_bytes()


def html_to_pdf(html: str, out: Path, *, browser: str = "", timeout: float = 60) -> None:
    """Print ``html`` to the file ``out`` (written only when rendering succeeded).

    Raises StoreUnavailable(store="Chromium") when no browser is found or it fails."""
    data = render_pdf(html, find_browser(browser), timeout)
    out.parent.mkdir(parents=True, exist_ok=True)
    partial = out.with_name(out.name + ".part")
    partial.write_bytes(data)
    partial.replace(out)
