"""Alert emails rendered from Jinja templates: multipart text + HTML, zh-CN, UTF-8.

Headers are RFC 2047 encoded (UTF-8, base64 encoded words); the Date is the
enqueue time, the Message-ID is on the service's domain and fixed before the first attempt;
In-Reply-To/References keep one alert group in one thread.
"""

from __future__ import annotations

import datetime as dt
import functools
from email.header import Header
from email.mime.multipart import MIMEMultipart
from email.mime.text import MIMEText
from email.utils import format_datetime, formataddr, make_msgid
from pathlib import Path
from typing import Any

import jinja2

from alerts.notify.settings import EmailSettings

TEMPLATES = Path(__file__).resolve().parent.parent / "templates"

CATEGORY_ZH = {
    "quality": "质量缺陷",
    "opinion": "舆情",
    "payment": "支付风险",
    "fraud": "欺诈风险",
    "customs": "通关申报",
    "credit": "信用风险",
    "collection": "数据采集",
}


@functools.cache
def _environment() -> jinja2.Environment:
    return jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(TEMPLATES)),
        autoescape=jinja2.select_autoescape(enabled_extensions=("html",), default=False),
        undefined=jinja2.StrictUndefined,
        keep_trailing_newline=True,
    )


def new_message_id(settings: EmailSettings, kind: str) -> str:
    return make_msgid(idstring=kind, domain=settings.domain)


def build(
    settings: EmailSettings,
    *,
    recipients: list[str],
    subject: str,
    context: dict[str, Any],
    message_id: str,
    when: dt.datetime,
    thread: list[str] | None = None,
) -> bytes:
    """The complete message as bytes, ready for ``sendmail``.

    Headers are encoded with :class:`email.header.Header` (compat32): the modern policy's
    folder drops a space that falls on the boundary between two encoded words.
    """
    environment = _environment()
    text = environment.get_template("email_alert.txt").render(**context)
    html = environment.get_template("email_alert.html").render(**context)
    message = MIMEMultipart("alternative")
    message["Subject"] = Header(subject, "utf-8", header_name="Subject").encode()
    message["From"] = formataddr((settings.sender_name, settings.sender), charset="utf-8")
    message["To"] = ", ".join(recipients)
    message["Date"] = format_datetime(when.astimezone(dt.UTC))
    message["Message-ID"] = message_id
    if thread:
        message["In-Reply-To"] = thread[-1]
        message["References"] = " ".join(dict.fromkeys(thread))
    message["Auto-Submitted"] = "auto-generated"
    message["Content-Language"] = "zh-CN"
    message.attach(MIMEText(text, "plain", "utf-8"))
    message.attach(MIMEText(html, "html", "utf-8"))
    return message.as_bytes().replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")
