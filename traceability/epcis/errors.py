"""EPCIS errors, typed by the exception names of the EPCIS 2.0 REST binding.

Every error carries an English EPCIS exception type (``ValidationException`` …), the HTTP
status the REST binding gives it, and a zh-CN message for people.  ``problems`` lists the
individual findings (JSON pointer + message) when a document fails validation, so that a
client sees every mistake at once instead of fixing them one round trip at a time.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True, slots=True)
class Problem:
    """One finding: where in the document (JSON pointer or event index) and what is wrong."""

    pointer: str
    message: str

    def __str__(self) -> str:
        return f"{self.pointer or '/'}: {self.message}"


@dataclass(eq=False)
class EpcisError(ValueError):
    """An EPCIS document, event or request cannot be accepted."""

    message: str
    exception: str = "ValidationException"
    status: int = 400
    problems: list[Problem] = field(default_factory=list)

    def __post_init__(self) -> None:
        ValueError.__init__(self, self.message)

    def __str__(self) -> str:
        if not self.problems:
            return self.message
        shown = "; ".join(str(p) for p in self.problems[:5])
        more = f"；另有 {len(self.problems) - 5} 处" if len(self.problems) > 5 else ""
        return f"{self.message}: {shown}{more}"

    @property
    def type_uri(self) -> str:
        """The problem ``type`` the EPCIS OpenAPI binding uses."""
        return f"epcisException:{self.exception}"


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
