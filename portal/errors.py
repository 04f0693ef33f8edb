"""Domain errors: exceptions with a stable machine-readable code.

Services raise these; they know nothing of HTTP beyond the status their code stands for in the API
contract (../shared/API.md). `portal.api.exception_handler` renders them, and the admin and the
management commands show their message.
"""

from typing import Any


class PortalError(Exception):
    status: int = 400
    code: str = "invalid_request"

    def __init__(
        self,
        message: str,
        *,
        code: str | None = None,
        field: str | None = None,
        status: int | None = None,
        extra: dict[str, Any] | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        if code is not None:
            self.code = code
        if status is not None:
            self.status = status
        self.field = field
        self.extra = extra or {}
        self.headers = headers or {}

    def __str__(self) -> str:
        return self.message
