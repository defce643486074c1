"""One error hierarchy for every layer, rendered in one place for HTTP and one for the CLI.

Each error class carries what its renderers need: the HTTP status, a stable machine code
(``problem.code`` in problem+json, for clients to branch on), a zh-CN title, and the exit
code of the ``qtrace`` command.  Layers raise these (or subclasses); the web app turns them
into RFC 7807 problem+json (``traceability.app.web.errors``), the command line into one
message line and the exit code (``traceability.app.cli``).  Both tables are in the README.

Subclasses also derive from the builtin a caller would catch before this hierarchy existed
(``ValueError`` for bad input, ``LookupError`` for absent things), so ``except ValueError``
around a parser keeps working.
"""

from __future__ import annotations

from typing import Any, ClassVar


class QtraceError(Exception):
    """Base of every error a user can be shown.  ``detail`` is the zh-CN explanation."""

    status: ClassVar[int] = 500
    code: ClassVar[str] = "internal_error"
    title: ClassVar[str] = "服务器内部错误"
    exit_code: ClassVar[int] = 1

    def __init__(self, detail: str, *, retry_after: int | None = None, **extra: Any) -> None:
        super().__init__(detail)
        self.detail = detail
        self.retry_after = retry_after
        self.extra = extra

    def __str__(self) -> str:
        return self.detail

    @property
    def problem_type(self) -> str:
        """The problem+json ``type``; features with a standard vocabulary override it."""
        return "about:blank"

    @property
    def http_status(self) -> int:
        return self.status

    def problem_extra(self) -> dict[str, Any]:
        """Members added to the problem+json body besides type/title/status/detail."""
        return dict(self.extra)


class InvalidInput(QtraceError, ValueError):
    status = 400
    code = "invalid_input"
    title = "输入无效"
    exit_code = 3


class InvalidParameter(InvalidInput):
    """A query parameter or option cannot be used (a search filter, a date, a page)."""

    code = "invalid_parameter"
    title = "参数错误"


class NotFound(QtraceError, LookupError):
    status = 404
    code = "not_found"
    title = "未找到"
    exit_code = 4


class Conflict(QtraceError):
    status = 409
    code = "conflict"
    title = "与现有数据冲突"
    exit_code = 5


class Unauthenticated(QtraceError):
    status = 401
    code = "unauthenticated"
    title = "需要登录"
    exit_code = 6


class Forbidden(QtraceError):
    status = 403
    code = "forbidden"
    title = "无权执行此操作"
    exit_code = 7


class TooLarge(InvalidInput):
    status = 413
    code = "too_large"
    title = "内容过大"
    exit_code = 8


class RateLimited(QtraceError):
    status = 429
    code = "rate_limited"
    title = "请求过于频繁"
    exit_code = 9


class StoreUnavailable(QtraceError):
    """A store (Neo4j, Elasticsearch, the SMTP server …) cannot be reached right now.

    ``store`` names it, so the 503 says which; ``retry_after`` defaults to 30 seconds.
    """

    status = 503
    code = "store_unavailable"
    title = "存储暂时不可用"
    exit_code = 10

    def __init__(self, detail: str, *, store: str, retry_after: int | None = 30) -> None:
        super().__init__(detail, retry_after=retry_after, store=store)
        self.store = store


class ConfigurationError(QtraceError, ValueError):
    """The settings are invalid, or name something that cannot be opened as configured."""

    status = 500
    code = "configuration"
    title = "配置错误"
    exit_code = 11


#: Every class, for the README's tables and the tests that walk them.
ERROR_CLASSES: tuple[type[QtraceError], ...] = (
    InvalidInput,
    InvalidParameter,
    NotFound,
    Conflict,
    Unauthenticated,
    Forbidden,
    TooLarge,
    RateLimited,
    StoreUnavailable,
    ConfigurationError,
)
