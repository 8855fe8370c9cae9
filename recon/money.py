"""Exact amounts and each currency's minor unit.

Amounts are `Decimal` from the moment they are read; nothing here ever passes through float.
Minor units come from ISO 4217 (the `iso4217` package): JPY has 0 decimals, KWD and BHD 3.
"""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from functools import cache

from iso4217 import Currency

from recon.errors import MoneyError


@cache
def minor_unit(currency: str) -> int:
    """Decimals of `currency` (its ISO 4217 exponent); MoneyError if unknown or not money."""
    try:
        exponent = Currency(currency.upper()).exponent
    except ValueError:
        raise MoneyError(f"unknown currency {currency!r}") from None
    if exponent is None:
        raise MoneyError(f"{currency!r} is not a currency with a minor unit")
    return int(exponent)


def quantum(currency: str) -> Decimal:
    """The smallest amount of `currency`: Decimal('0.01') for USD, Decimal('1') for JPY."""
    return Decimal(1).scaleb(-minor_unit(currency))


def parse_amount(value: object, currency: str) -> Decimal:
    """Parse an API or ledger amount exactly and check it fits the currency's minor unit.

    Accepts a `Decimal`, an `int`, or decimal text. A `float` is refused: it has already lost
    the exact value (parse JSON with `parse_float=Decimal`).
    """
    if isinstance(value, (bool, float)):
        raise MoneyError(f"amount {value!r} is a {type(value).__name__}, not an exact decimal")
    if isinstance(value, Decimal):
        amount = value
    elif isinstance(value, int):
        amount = Decimal(value)
    elif isinstance(value, str):
        try:
            amount = Decimal(value.strip())
        except InvalidOperation:
            raise MoneyError(f"amount {value!r} is not a number") from None
    else:
        raise MoneyError(f"amount {value!r} is not a number")
    if not amount.is_finite():
        raise MoneyError(f"amount {value!r} is not a finite number")
    step = quantum(currency)
    if amount != amount.quantize(step):
        raise MoneyError(
            f"amount {value!r} has more decimals than {currency} allows ({minor_unit(currency)})"
        )
    return amount.quantize(step)


def format_amount(amount: Decimal, currency: str) -> str:
    """Text with exactly the currency's decimals: '34.70', '3000', '12.500'."""
    return str(amount.quantize(quantum(currency)))


def amount_text(amount: Decimal, currency: str | None) -> str:
    """The amount with its currency's decimals, or with more where it has more (a ledger row
    booked in another currency): for display, so it never rounds."""
    try:
        exact = amount.quantize(quantum(currency or ""))
    except MoneyError:
        exact = None
    return f"{exact:f}" if exact == amount else f"{amount.normalize():f}"
