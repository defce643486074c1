"""A real SMTP client (smtplib): plain, STARTTLS or implicit TLS, AUTH, verification, timeout.

``deliver`` sends one rendered message and classifies the outcome the way the outbox needs
it: ``ok`` (the server accepted it, 2xx), ``temporary`` (connection refused or reset, a
timeout, a 4xx reply: retry with backoff) or ``permanent`` (a 5xx reply: give up and say so).
"""

from __future__ import annotations

import contextlib
import smtplib
import ssl
from dataclasses import dataclass

from alerts.notify.settings import EmailSettings


@dataclass(frozen=True)
class Result:
    result: str  # ok | temporary | permanent
    code: int | None
    reply: str


def _context(settings: EmailSettings) -> ssl.SSLContext:
    context = ssl.create_default_context()
    if not settings.verify_tls:
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
    return context


def _text(reply: bytes | str) -> str:
    return reply.decode("utf-8", "replace") if isinstance(reply, bytes) else str(reply)


def _classify(code: int | None, reply: str) -> Result:
    if code is not None and 500 <= code < 600:
        return Result("permanent", code, reply)
    return Result("temporary", code, reply)


def deliver(settings: EmailSettings, sender: str, recipients: list[str], raw: bytes) -> Result:
    """Send ``raw`` (a complete RFC 5322 message) to ``recipients``."""
    client: smtplib.SMTP | None = None
    try:
        if settings.security == "tls":
            client = smtplib.SMTP_SSL(
                settings.host, settings.port, timeout=settings.timeout_seconds,
                context=_context(settings),
            )  # fmt: skip
        else:
            client = smtplib.SMTP(settings.host, settings.port, timeout=settings.timeout_seconds)
        client.ehlo()
        if settings.security == "starttls":
            client.starttls(context=_context(settings))
            client.ehlo()
        if settings.username:
            client.login(settings.username, settings.password)
        refused = client.sendmail(sender, recipients, raw)
        with contextlib.suppress(smtplib.SMTPException, OSError):
            client.quit()
        client = None
        if refused:
            codes = [code for code, _ in refused.values()]
            reply = "; ".join(f"{rcpt}: {c} {_text(m)}" for rcpt, (c, m) in refused.items())
            # Some recipients refused: the others have it; report the refusal.
            return Result("ok", 250, f"部分收件人被拒绝: {reply} ({max(codes)})")
        return Result("ok", 250, "250 OK")
    except smtplib.SMTPRecipientsRefused as exc:
        codes = [code for code, _ in exc.recipients.values()]
        reply = "; ".join(f"{rcpt}: {c} {_text(m)}" for rcpt, (c, m) in exc.recipients.items())
        return _classify(max(codes) if codes else None, reply)
    except smtplib.SMTPResponseException as exc:
        return _classify(exc.smtp_code, f"{exc.smtp_code} {_text(exc.smtp_error)}")
    except smtplib.SMTPServerDisconnected as exc:
        if "timed out" in str(exc):
            return Result("temporary", None, f"超时（{settings.timeout_seconds} 秒）: {exc}")
        return Result("temporary", None, f"连接中断: {exc}")
    except TimeoutError as exc:
        return Result("temporary", None, f"超时（{settings.timeout_seconds} 秒）: {exc}")
    except (smtplib.SMTPException, OSError) as exc:
        return Result("temporary", None, f"{type(exc).__name__}: {exc}")
    finally:
        if client is not None:
            with contextlib.suppress(OSError):
                client.close()
