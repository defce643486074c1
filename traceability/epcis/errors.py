"""EPCIS errors, typed by the exception names of the EPCIS 2.0 REST binding.

Every error carries an English EPCIS exception type (``ValidationException`` …), the HTTP
status the REST binding gives it, and a zh-CN message for people.  ``problems`` lists the
individual findings (JSON pointer + message) when a document fails validation, so that a
client sees every mistake at once instead of fixing them one round trip at a time.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from traceability.errors import QtraceError


@dataclass(frozen=True, slots=True)
class Problem:
    """One finding: where in the document (JSON pointer or event index) and what is wrong."""

    pointer: str
    message: str

    def __str__(self) -> str:
        return f"{self.pointer or '/'}: {self.message}"


_ZH_TITLES = {
    "ValidationException": "校验未通过",
    "QueryParameterException": "查询参数错误",
    "NoSuchResourceException": "未找到",
    "ResourceAlreadyExistsException": "资源已存在",
    "CaptureLimitExceededException": "超出采集上限",
    "UnsupportedMediaTypeException": "不支持的媒体类型",
    "ImplementationException": "服务器内部错误",
}
_EXIT_CODES = {400: 3, 404: 4, 409: 5, 413: 8, 415: 3}


class EpcisError(QtraceError, ValueError):
    """An EPCIS document, event or request cannot be accepted.

    A member of the one hierarchy whose problem ``type`` is the binding's exception name,
    so the app's single handler renders it as the EPCIS OpenAPI document specifies.
    """

    code = "epcis"

    def __init__(
        self,
        message: str,
        exception: str = "ValidationException",
        status: int = 400,
        problems: list[Problem] | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.exception = exception
        self._status = status
        self.problems = problems or []

    def __str__(self) -> str:
        if not self.problems:
            return self.message
        shown = "; ".join(str(p) for p in self.problems[:5])
        more = f"；另有 {len(self.problems) - 5} 处" if len(self.problems) > 5 else ""
        return f"{self.message}: {shown}{more}"

    @property
    def status(self) -> int:  # type: ignore[override]  # per instance: the binding's status
        return self._status

    @property
    def http_status(self) -> int:
        return self._status

    @property
    def exit_code(self) -> int:  # type: ignore[override]  # follows the HTTP status
        return _EXIT_CODES.get(self._status, 1)

    @property
    def title(self) -> str:  # type: ignore[override]  # named after the EPCIS exception
        return f"{_ZH_TITLES.get(self.exception, self.exception)} ({self.exception})"

    @property
    def type_uri(self) -> str:
        """The problem ``type`` the EPCIS OpenAPI binding uses."""
        return f"epcisException:{self.exception}"

    @property
    def problem_type(self) -> str:
        return self.type_uri

    def problem_extra(self) -> dict[str, Any]:
        if not self.problems:
            return {}
        return {"errors": [{"pointer": p.pointer, "message": p.message} for p in self.problems]}


def validation(message: str, problems: list[Problem] | None = None) -> EpcisError:
    return EpcisError(message, "ValidationException", 400, problems or [])


def too_large(message: str) -> EpcisError:
    return EpcisError(message, "CaptureLimitExceededException", 413)


def not_found(message: str) -> EpcisError:
    return EpcisError(message, "NoSuchResourceException", 404)


def exists(message: str) -> EpcisError:
    return EpcisError(message, "ResourceAlreadyExistsException", 409)


def query_parameter(message: str) -> EpcisError:
    return EpcisError(message, "QueryParameterException", 400)


def unsupported_media(message: str) -> EpcisError:
    return EpcisError(message, "UnsupportedMediaTypeException", 415)
