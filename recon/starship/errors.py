"""Typed Starship API errors, chosen by the envelope's stable `code`, else by HTTP class.

Branch on these (or on `.code`), never on the message, which Starship may reword.
"""

from __future__ import annotations

from recon.errors import ApiError


class AuthenticationError(ApiError):
    """Bad or missing credentials, or a bad request signature (401)."""


class ValidationError(ApiError):
    """Starship refused the request as invalid (E_VALIDATION_FAILURE)."""


class NotFoundError(ApiError):
    """No such resource, or no such route (404)."""


class PaymentRequiredError(ApiError):
    """The wallet cannot pay for the order (PAYMENT_REQUIRED)."""


class InsufficientInventoryError(ApiError):
    """No vouchers available for the product (INSUFFICIENT_INVENTORY)."""


class ThrottledError(ApiError):
    """Still throttled (429) when the retry budget ran out."""


class ClientError(ApiError):
    """Any other 4xx answer, with a code recon does not know yet."""


class ServerError(ApiError):
    """Starship failed (5xx) on every attempt the retry budget allowed."""


class UnreachableError(ApiError):
    """No answer at all: connection refused, reset or timed out on every attempt."""


BY_CODE: dict[str, type[ApiError]] = {
    "E_UNAUTHORIZED": AuthenticationError,
    "E_SIGNATURE_INVALID": AuthenticationError,
    "E_VALIDATION_FAILURE": ValidationError,
    "E_NOT_FOUND": NotFoundError,
    "E_ORDER_NOT_FOUND": NotFoundError,
    "E_PRODUCT_NOT_FOUND": NotFoundError,
    "PAYMENT_REQUIRED": PaymentRequiredError,
    "INSUFFICIENT_INVENTORY": InsufficientInventoryError,
    "E_REQUEST_THROTTLED": ThrottledError,
}
BY_STATUS: dict[int, type[ApiError]] = {
    401: AuthenticationError,
    402: PaymentRequiredError,
    404: NotFoundError,
    429: ThrottledError,
}


def error_class(status: int, code: str | None) -> type[ApiError]:
    if code and code in BY_CODE:
        return BY_CODE[code]
    if status in BY_STATUS:
        return BY_STATUS[status]
    return ServerError if status >= 500 else ClientError
