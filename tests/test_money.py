from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from recon.errors import MoneyError
from recon.money import format_amount, minor_unit, parse_amount, quantum


@pytest.mark.parametrize(
    ("currency", "decimals"),
    [("USD", 2), ("EUR", 2), ("JPY", 0), ("KWD", 3), ("BHD", 3), ("usd", 2)],
)
def test_minor_units_follow_iso_4217(currency: str, decimals: int) -> None:
    assert minor_unit(currency) == decimals
    assert quantum(currency) == Decimal(1).scaleb(-decimals)


@pytest.mark.parametrize("currency", ["XYZ", "USX", "XAU", ""])
def test_unknown_or_non_monetary_currency_is_refused(currency: str) -> None:
    with pytest.raises(MoneyError):
        minor_unit(currency)


@pytest.mark.parametrize(
    ("raw", "currency", "expected"),
    [
        ("34.70", "USD", "34.70"),
        ("34.7", "USD", "34.70"),
        (Decimal("34.70"), "USD", "34.70"),
        (3000, "JPY", "3000"),
        ("12.500", "KWD", "12.500"),
        ("-0.05", "EUR", "-0.05"),
    ],
)
def test_amounts_parse_exactly(raw: object, currency: str, expected: str) -> None:
    assert format_amount(parse_amount(raw, currency), currency) == expected


@pytest.mark.parametrize(
    ("raw", "currency", "reason"),
    [
        (34.7, "USD", "float"),
        ("1500.5", "JPY", "decimals"),
        ("0.0001", "KWD", "decimals"),
        ("abc", "USD", "not a number"),
        ("NaN", "USD", "finite"),
        (True, "USD", "bool"),
    ],
)
def test_bad_amounts_are_refused_with_a_reason(raw: object, currency: str, reason: str) -> None:
    with pytest.raises(MoneyError, match=reason):
        parse_amount(raw, currency)


@given(st.integers(min_value=-(10**15), max_value=10**15), st.sampled_from(["USD", "JPY", "KWD"]))
def test_minor_units_round_trip_through_text(minor: int, currency: str) -> None:
    amount = Decimal(minor).scaleb(-minor_unit(currency))
    assert parse_amount(format_amount(amount, currency), currency) == amount
