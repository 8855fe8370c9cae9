"""Synthetic books for diff tests: clean Starship and ledger sides, then planted breaks.

As messy as a real partner's, even when clean: every order is charged its product's
negotiated discount (so totals sit below face value), and the ledger is movements across
nights: a sale booked on the export of the partner's business day it was booked in, and a later
cancellation booked as a reversal row on the export of the day it happened (amount negated, or
unchanged with the status). How the partner keeps its books is a `Profile`: the zone its
business day is cut in (a Pacific partner's export of D holds 08:00 UTC on D to 08:00 UTC on
D+1), whether it exports on weekends (if not, Monday's export books the weekend), the file
format, the units and the sign of a purchase, and the export's regional shape: a CSV's
delimiter, a decimal comma in text amounts, day-first or month-first timestamps, and Debit and
Credit columns in place of one signed amount.

`Books` holds both sides across days (orders, wallet transactions, each day's ledger export);
`plant(kind)` plants one discrepancy of a kind on an order no other plant touched and returns
the (check, key) recon must report for it; `write(root)` publishes the lake partitions through
`recon.lake` (real manifests) and the ledger exports as CSV, and returns the configuration.
"""

from __future__ import annotations

import csv
import json
import random
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from pathlib import Path
from zoneinfo import ZoneInfo

import pyarrow as pa

from recon import config
from recon.errors import MoneyError
from recon.lake import Lake
from recon.money import quantum
from recon.sandbox.scenario import delivered_share, discounted

CURRENCIES = {"USD": "10.00", "EUR": "25.00", "JPY": "3000", "KWD": "5.000"}
DISCOUNTS = {"USD": "3.5", "EUR": "0", "JPY": "2.5", "KWD": "1.75"}  # one product a currency
LOOKBACK = 3
GRACE_MINUTES = 60
STUCK_HOURS = 24
PLANTS = (
    "missing_in_ledger",
    "missing_at_starship",
    "amount_mismatch",
    "currency_mismatch",
    "status_mismatch",
    "duplicate_order",
    "duplicate_ledger_entry",
    "wallet_mismatch",
    "balance_gap",
    "stuck_pending",
    "low_wallet_balance",
    "wallet_runway",
    "unknown_status",
    "late_cancellation",
    "reversal_of_delivered",
    "discount_drift",
    "discount_not_in_force",
    "reversal_older_than_memory",
    "partial_refund_unbooked",
    "partial_refund_misbooked",
)
FORMATS = ("csv", "jsonl", "parquet", "xlsx")
FIELDS = ("entry_id", "order_id", "reference", "amount", "currency", "status", "booked_at")
AMOUNTS = ("amount", "debit", "credit")


@dataclass(frozen=True)
class Profile:
    """How a partner keeps its books."""

    zone: str = "UTC"  # its business day: each export holds one local day's bookings
    timestamps: str | None = None  # the zone its naive timestamps are in; None: `zone`
    weekends: bool = True  # False: no export on Saturday or Sunday; Monday's books them
    format: str = "csv"  # csv | jsonl | parquet | xlsx
    amount_unit: str = "major"
    purchase_sign: str = "positive"
    delimiter: str = ","  # csv only
    decimal_separator: str = "."  # text amounts only (csv, parquet): "," writes 1.289,50
    date_format: str = "iso"  # iso | day-first | month-first | a strftime pattern
    sides: bool = False  # Debit and Credit columns: purchases debited, reversals credited

    @property
    def timezone(self) -> str:
        return self.timestamps or self.zone

    def export_day(self, booked: datetime) -> date:
        """The export a booking made at `booked` lands on."""
        day = booked.astimezone(ZoneInfo(self.zone)).date()
        while not self.weekends and day.weekday() >= 5:
            day += timedelta(days=1)
        return day

    def exports(self, first: date, last: date) -> list[date]:
        """The days in [first, last] the partner writes an export for."""
        days = [first + timedelta(days=n) for n in range((last - first).days + 1)]
        return [d for d in days if self.weekends or d.weekday() < 5]

    @property
    def suffix(self) -> str:
        return self.format

    @property
    def fields(self) -> tuple[str, ...]:
        if not self.sides:
            return FIELDS
        return (*FIELDS[:3], "debit", "credit", *FIELDS[4:])

    def settings(self) -> dict[str, object]:
        """The [ledger] keys of the shape, only where they are not the defaults."""
        shape: dict[str, object] = {}
        if self.format == "csv" and self.delimiter != ",":
            shape["delimiter"] = self.delimiter
        if self.decimal_separator != ".":
            shape["decimal_separator"] = self.decimal_separator
        if self.date_format != "iso":
            shape["date_format"] = self.date_format
        if self.sides:
            shape["columns"] = {"debit": "debit", "credit": "credit"}
        return shape


# How the profile's date_format writes a moment (the strptime patterns recon reads it with).
DATE_WRITERS = {"day-first": "%d.%m.%Y %H:%M:%S", "month-first": "%m/%d/%Y %I:%M:%S %p"}


SAME_EXPONENT = {"USD": "EUR", "EUR": "USD", "JPY": "KRW", "KWD": "BHD"}


@dataclass
class Order:
    order_id: str
    reference: str
    currency: str
    denomination: Decimal
    quantity: int
    created_at: datetime
    status: str = "DELIVERED"
    sub_status: str = "COMPLETED"
    touched: bool = False  # carries a plant, or is tricky on purpose: no second plant
    discount: Decimal = Decimal(0)
    updated_at: datetime | None = None
    product: str = ""  # blank: the currency's one product
    delivered: int | None = None  # items still delivered once cancelled (a partial delivery)

    @property
    def product_id(self) -> str:
        return self.product or f"card-{self.currency.lower()}"

    @property
    def total(self) -> Decimal:
        return discounted(self.denomination * self.quantity, self.discount, self.currency)


@dataclass
class Txn:
    transaction_id: str
    type: str
    order_id: str | None
    amount: Decimal
    currency: str
    created_at: datetime
    served: bool = True  # False: in the balance chain, missing from GET /transactions


@dataclass
class Books:
    day: date
    rng: random.Random
    profile: Profile = field(default_factory=Profile)
    orders: list[Order] = field(default_factory=list)
    transactions: list[Txn] = field(default_factory=list)
    ledgers: dict[date, list[dict[str, str]]] = field(default_factory=dict)
    floors: dict[str, str] = field(default_factory=dict)
    sheet: list[tuple[str, str, str, str]] = field(default_factory=list)  # more terms, dated
    numbers: int = 0

    # -- building ---------------------------------------------------------------------------

    @classmethod
    def clean(
        cls,
        seed: int,
        day: date,
        orders: int = 12,
        currencies: tuple[str, ...] = tuple(CURRENCIES),
        timezone: str = "UTC",
        movements: bool = True,
        profile: Profile | None = None,
    ) -> Books:
        """`timezone` alone: books cut at UTC midnight with naive timestamps in that zone."""
        profile = profile or Profile(zone="UTC", timestamps=timezone)
        books = cls(day, random.Random(seed), profile)
        start = datetime.combine(day - timedelta(days=LOOKBACK), time(), tzinfo=UTC)
        for currency in currencies:
            books.move("TOPUP", None, Decimal(CURRENCIES[currency]) * 10_000, currency, start)
        for _ in range(orders):
            books.order(books.rng.choice(currencies), books.moment(day), book=True)
        if not movements:
            return books
        # Movements across nights: a sale two days ago, cancelled and refunded on D and reversed
        # on D's export; and one of D's own sales, cancelled and reversed the same day.
        late = books.order(
            books.rng.choice(currencies), books.moment(day - timedelta(days=2)), book=True
        )
        books.cancel(late, books.moment(day, time(1)))
        books.reverse(late)
        today = books.order(
            books.rng.choice(currencies), books.moment(day, latest=time(12)), book=True
        )
        books.cancel(today, books.moment(day, time(13), time(20)))
        books.reverse(today)
        # A partial delivery: two of three items delivered, then cancelled with the third
        # refunded, and the partner books the refund of that one item.
        partial = books.order(
            books.rng.choice(currencies), books.moment(day, latest=time(12)), book=True, quantity=3
        )
        books.cancel(partial, books.moment(day, time(13), time(20)), delivered=2)
        books.refund(partial)
        return books

    @property
    def timezone(self) -> str:
        return self.profile.timezone

    def local(self, moment: datetime) -> str:
        """`moment` as the partner writes it: naive, in its timestamps' zone."""
        return moment.astimezone(ZoneInfo(self.timezone)).strftime("%Y-%m-%d %H:%M:%S")

    def export_of(self, booked: datetime) -> list[dict[str, str]]:
        return self.ledgers.setdefault(self.profile.export_day(booked), [])

    def unbook(self, row: dict[str, str]) -> None:
        for rows in self.ledgers.values():
            if any(r is row for r in rows):
                rows[:] = [r for r in rows if r is not row]
                return
        raise AssertionError(f"no such row: {row}")

    def beside(self, row: dict[str, str], new: dict[str, str]) -> None:
        """Book `new` on the export `row` is on."""
        next(rows for rows in self.ledgers.values() if any(r is row for r in rows)).append(new)

    def next_id(self, prefix: str) -> str:
        self.numbers += 1
        return f"{prefix}_{self.numbers:06d}"

    def moment(
        self, day: date, earliest: time = time(0, 5), latest: time = time(22, 0)
    ) -> datetime:
        low = datetime.combine(day, earliest, tzinfo=UTC)
        span = int((datetime.combine(day, latest, tzinfo=UTC) - low).total_seconds())
        return low + timedelta(seconds=self.rng.randrange(span))

    def move(
        self, kind: str, order_id: str | None, amount: Decimal, currency: str, at: datetime
    ) -> Txn:
        txn = Txn(self.next_id("txn"), kind, order_id, amount, currency, at)
        self.transactions.append(txn)
        return txn

    def order(
        self,
        currency: str,
        at: datetime,
        *,
        book: bool,
        reference: str | None = None,
        product: str = "",
        quantity: int | None = None,
    ) -> Order:
        order = Order(
            self.next_id("ord"),
            reference or self.next_id("po"),
            currency,
            Decimal(CURRENCIES[currency]),
            quantity or self.rng.choice((1, 1, 2, 3)),
            at,
            discount=Decimal(DISCOUNTS[currency]),
            product=product,
        )
        self.orders.append(order)
        self.move("ORDER_DEBIT", order.order_id, -order.total, currency, at)
        if book:
            self.book(order)
        return order

    def book(self, order: Order, on: date | None = None, **changes: str) -> dict[str, str]:
        status = {"DELIVERED": "delivered", "CANCELLED": "cancelled"}.get(order.status, "pending")
        row = {
            "entry_id": self.next_id("LE"),
            "order_id": order.order_id,
            "reference": order.reference,
            "amount": f"{order.total:,}",
            "currency": order.currency,
            "status": status,
            "booked_at": self.local(order.created_at + timedelta(seconds=40)),
        }
        row.update(changes)
        if on is None:
            self.export_of(order.created_at + timedelta(seconds=40)).append(row)
        else:
            self.ledgers.setdefault(on, []).append(row)
        return row

    def cancel(
        self, order: Order, at: datetime, *, refunded: bool = True, delivered: int = 0
    ) -> None:
        """Starship cancels `order` at `at` (refunding the wallet unless told not to): after
        `delivered` of its items were delivered, it keeps their share and refunds the rest."""
        order.status, order.sub_status = "CANCELLED", "REFUNDED" if refunded else "NOT_REFUNDED"
        order.updated_at, order.touched = at, True
        order.delivered = delivered
        if refunded:
            self.move("REFUND", order.order_id, self.refunded(order), order.currency, at)

    def refunded(self, order: Order) -> Decimal:
        """What Starship refunds of a cancelled order: the total less the delivered share."""
        return order.total - delivered_share(
            order.total, order.delivered or 0, order.quantity, order.currency
        )

    def refund(self, order: Order, amount: Decimal | None = None) -> dict[str, str]:
        """The partner books the refund of a partial delivery's undelivered items."""
        row = self.reverse(order)
        refund = self.refunded(order) if amount is None else amount
        row["amount"] = f"{-refund if row['amount'].startswith('-') else refund:,}"
        return row

    def reverse(self, order: Order, at: datetime | None = None) -> dict[str, str]:
        """The partner books `order`'s cancellation: a reversal row on the export of the day it
        was cancelled (or of `at`), the amount negated or (with the status saying so) unchanged."""
        at = at or order.updated_at or order.created_at
        amount = -order.total if self.rng.random() < 0.7 else order.total
        row = {
            **self.row_of(order),
            "entry_id": self.next_id("LE"),
            "amount": f"{amount:,}",
            "status": "cancelled",
            "booked_at": self.local(at + timedelta(seconds=25)),
        }
        self.export_of(at + timedelta(seconds=25)).append(row)
        return row

    def row_of(self, order: Order) -> dict[str, str]:
        return next(
            r for rows in self.ledgers.values() for r in rows if r["order_id"] == order.order_id
        )

    def fresh(self, fits: Callable[[Order], bool] = lambda _: True) -> Order:
        """A clean, booked order of D that no plant has touched yet (and that `fits`)."""
        candidates = [
            o
            for o in self.orders
            if not o.touched
            and o.created_at.date() == self.day
            and o.status == "DELIVERED"
            and fits(o)
        ]
        order = self.rng.choice(candidates)
        order.touched = True
        return order

    # -- planting ---------------------------------------------------------------------------

    def plant(self, kind: str) -> tuple[str, str] | None:
        """Plant one discrepancy of `kind`; the (check, key) recon must report for it on D, or
        None when the partner's books leave no place for it on D (no export to put it on)."""
        return getattr(self, f"_plant_{kind}")()

    def closes(self, day: date) -> datetime:
        """The UTC instant the partner's business day `day` closes."""
        local = ZoneInfo(self.profile.zone)
        return datetime.combine(day + timedelta(days=1), time(), tzinfo=local).astimezone(UTC)

    def _plant_missing_in_ledger(self) -> tuple[str, str]:
        # not one placed in the last minutes of a business day: that one may still be booked on
        # the next export, and is expected until it is there
        order = self.fresh(
            lambda o: (
                self.closes(o.created_at.astimezone(ZoneInfo(self.profile.zone)).date())
                - o.created_at
                > timedelta(minutes=GRACE_MINUTES)
            )
        )
        self.unbook(self.row_of(order))
        return "missing_in_ledger", order.order_id

    def _plant_missing_at_starship(self) -> tuple[str, str] | None:
        """A row no order claims, on the export night D judges those of: the one whose business
        day closes on D (a Pacific partner's export of D-1)."""
        closing = [
            e
            for e in self.profile.exports(
                self.day - timedelta(days=2), self.day + timedelta(days=1)
            )
            if (self.closes(e) - timedelta(microseconds=1)).date() == self.day
        ]
        if not closing:
            return None  # a weekend: no export closes on D
        template = self.row_of(self.fresh())
        row = {**template, "entry_id": self.next_id("LE"), "order_id": self.next_id("ord")}
        row["reference"] = self.next_id("po")
        self.ledgers.setdefault(closing[0], []).append(row)
        return "missing_at_starship", row["entry_id"]

    def _plant_amount_mismatch(self) -> tuple[str, str]:
        order = self.fresh()
        units = self.rng.choice([-1, 1]) * self.rng.randint(1, 500)
        self.row_of(order)["amount"] = f"{order.total + units * quantum(order.currency):,}"
        return "amount_mismatch", order.order_id

    def _plant_currency_mismatch(self) -> tuple[str, str]:
        order = self.fresh()
        self.row_of(order)["currency"] = SAME_EXPONENT[order.currency]
        return "currency_mismatch", order.order_id

    def _plant_status_mismatch(self) -> tuple[str, str]:
        order = self.fresh()  # refunded at Starship this evening; the ledger says delivered
        self.cancel(order, datetime.combine(self.day, time(23, 0), tzinfo=UTC))
        return "status_mismatch", order.order_id

    def _plant_late_cancellation(self) -> tuple[str, str]:
        """Sold and booked a night or two before D, cancelled and refunded on D, and no
        export reverses it: found on D against the earlier export."""
        currency = self.rng.choice(sorted({o.currency for o in self.orders}))
        back = self.rng.choice((1, 2, LOOKBACK))
        order = self.order(currency, self.moment(self.day - timedelta(days=back)), book=True)
        self.cancel(order, self.moment(self.day))
        return "status_mismatch", order.order_id

    def _plant_reversal_of_delivered(self) -> tuple[str, str]:
        """D's export reverses a sale of an earlier night that Starship still has delivered."""
        currency = self.rng.choice(sorted({o.currency for o in self.orders}))
        order = self.order(currency, self.moment(self.day - timedelta(days=1)), book=True)
        order.touched = True
        self.reverse(order, self.moment(self.day))
        return "status_mismatch", order.order_id

    def _plant_reversal_older_than_memory(self) -> tuple[str, str]:
        """D's export reverses a sale older than the look-back window (outside the ledger's
        memory) with the wrong amount: compared, sign aside, with the order's total."""
        order = self.older_cancellation()
        units = self.rng.choice([-1, 1]) * self.rng.randint(1, 500)
        wrong = order.total + units * quantum(order.currency)
        self.reverse(order, self.moment(self.day))["amount"] = (
            f"{self.rng.choice([-1, 1]) * wrong:,}"
        )
        return "amount_mismatch", f"{order.order_id}/reversal"

    def older_cancellation(self) -> Order:
        """An order sold and booked before the look-back window, so that the ledger's memory
        has no booking of it, and cancelled and refunded at Starship since (on D at the latest,
        after its own day)."""
        currency = self.rng.choice(sorted({o.currency for o in self.orders}))
        sold = self.day - timedelta(days=LOOKBACK + self.rng.randint(1, 3))
        order = self.order(currency, self.moment(sold), book=True)
        cancelled = sold + timedelta(days=self.rng.randint(1, (self.day - sold).days))
        self.cancel(order, self.moment(cancelled))
        return order

    def _plant_discount_drift(self) -> tuple[str, str]:
        """Charged another discount than the sheet's (CPD changed without notice); the ledger
        books what was charged, as a partner does, so only the sheet tells."""
        order = self.fresh()
        sheet = order.discount
        while order.discount == sheet or order.total == discounted(
            order.denomination * order.quantity, sheet, order.currency
        ):
            order.discount = Decimal(self.rng.randint(0, 600)) / 100
        debit = next(
            t for t in self.transactions if t.order_id == order.order_id and t.type == "ORDER_DEBIT"
        )
        debit.amount = -order.total
        self.row_of(order)["amount"] = f"{order.total:,}"
        return "discount_drift", order.order_id

    def _plant_discount_not_in_force(self) -> tuple[str, str]:
        """A product new on D whose sheet rows all start later (the partner entered its terms
        ahead of time): no discount is in force on D, so its orders are not priced; info."""
        currency = self.rng.choice(sorted({o.currency for o in self.orders}))
        product = self.next_id(f"card-{currency.lower()}-new")
        order = self.order(currency, self.moment(self.day), book=True, product=product)
        order.touched = True
        for days in (1, 30)[: self.rng.randint(1, 2)]:
            since = self.day + timedelta(days=days)
            self.sheet.append((product, currency, DISCOUNTS[currency], str(since)))
        return "unknown_status", f"product/{product}/{currency}"

    def _plant_duplicate_order(self) -> tuple[str, str]:
        original = self.fresh()
        copy = self.order(
            original.currency,
            original.created_at + timedelta(seconds=31),
            book=False,
            reference=original.reference,
        )
        copy.touched = True
        return "duplicate_order", copy.order_id

    def _plant_duplicate_ledger_entry(self) -> tuple[str, str]:
        template = self.row_of(self.fresh())
        row = {**template, "entry_id": self.next_id("LE")}
        self.beside(template, row)
        return "duplicate_ledger_entry", row["entry_id"]

    def _plant_wallet_mismatch(self) -> tuple[str, str]:
        order = self.fresh()  # cancelled, the refund never came; the ledger agrees it is cancelled
        self.cancel(order, order.created_at + timedelta(minutes=5), refunded=False)
        self.row_of(order)["status"] = "cancelled"
        return "wallet_mismatch", order.order_id

    def _plant_balance_gap(self) -> tuple[str, str]:
        order = self.fresh()  # a top-up just before this order's debit is not served
        topup = self.move(
            "TOPUP",
            None,
            Decimal(CURRENCIES[order.currency]) * 7,
            order.currency,
            order.created_at - timedelta(seconds=1),
        )
        topup.served = False
        following = min(
            (
                t
                for t in self.transactions
                if t.currency == order.currency and t.created_at > topup.created_at
            ),
            key=lambda t: (t.created_at, t.transaction_id),
        )
        return "balance_gap", following.transaction_id

    def _plant_stuck_pending(self) -> tuple[str, str]:
        currency = self.rng.choice(sorted({o.currency for o in self.orders}))
        order = self.order(currency, self.moment(self.day - timedelta(days=2)), book=True)
        order.status, order.sub_status, order.touched = "PENDING", "VENDOR_ORDER_PENDING", True
        self.row_of(order)["status"] = "pending"
        return "stuck_pending", order.order_id

    def _plant_low_wallet_balance(self) -> tuple[str, str]:
        currency = self.rng.choice(sorted({o.currency for o in self.orders}))
        self.floors[currency] = str(Decimal(CURRENCIES[currency]) * 1_000_000)
        return "low_wallet_balance", currency

    def _plant_wallet_runway(self) -> tuple[str, str]:
        """The partner moves 99 % of a wallet's opening balance out at the start of D (an
        adjustment for no order is spend too): what is left lasts far less than the notice."""
        currency = self.rng.choice(sorted({o.currency for o in self.orders}))
        opening = Decimal(CURRENCIES[currency]) * 10_000
        start = datetime.combine(self.day, time(), tzinfo=UTC)
        self.move("ADJUSTMENT", None, -opening * Decimal("0.99"), currency, start)
        return "wallet_runway", currency

    def partial(self) -> Order:
        """An order of D of three items, two delivered, then cancelled: the third refunded."""
        currency = self.rng.choice(sorted({o.currency for o in self.orders}))
        order = self.order(currency, self.moment(self.day, latest=time(12)), book=True, quantity=3)
        self.cancel(order, self.moment(self.day, time(13), time(20)), delivered=2)
        return order

    def _plant_partial_refund_unbooked(self) -> tuple[str, str]:
        """Starship refunded the undelivered item; the books never book the refund."""
        return "status_mismatch", self.partial().order_id

    def _plant_partial_refund_misbooked(self) -> tuple[str, str]:
        """The partner books the whole sale back, not the refund of the undelivered item."""
        order = self.partial()
        self.refund(order, order.total)
        return "amount_mismatch", f"{order.order_id}/reversal"

    def _plant_unknown_status(self) -> tuple[str, str]:
        order = self.fresh()
        order.sub_status = "VOUCHER_TELEPORTED"
        return "unknown_status", f"{order.order_id}/DELIVERED/VOUCHER_TELEPORTED"

    def tricky(self) -> None:
        """Rows that look odd but are clean: a reference-only booking, a late refund of an
        order from two days before (reversed on D's export), a PENDING younger than the
        threshold, a sale of D booked by order id whose same-day reversal carries only the
        partner's reference, and a reversal on D of a sale older than the look-back window."""
        row = self.row_of(self.fresh())
        row["order_id"] = ""
        by_id = self.order(
            self.rng.choice(sorted({o.currency for o in self.orders})),
            self.moment(self.day, latest=time(12)),
            book=True,
        )
        self.cancel(by_id, self.moment(self.day, time(13), time(20)))
        self.reverse(by_id)["order_id"] = ""
        self.reverse(self.older_cancellation(), self.moment(self.day))
        late = self.order(
            "USD" if any(o.currency == "USD" for o in self.orders) else self.orders[0].currency,
            self.moment(self.day - timedelta(days=2)),
            book=True,
        )
        self.cancel(late, self.moment(self.day))
        self.reverse(late)
        young = self.order(
            late.currency, datetime.combine(self.day, time(20), tzinfo=UTC), book=True
        )
        young.touched = True
        young.status, young.sub_status = "PENDING", "VENDOR_ORDER_PENDING"
        self.row_of(young)["status"] = "pending"

    # -- writing ----------------------------------------------------------------------------

    def write(self, root: Path, *, nights: tuple[date, ...] | None = None) -> config.Config:
        """The lake (every day of the window up to the last night) and the ledger exports."""
        last = max(nights or (self.day,))
        lake = Lake(root / "var" / "lake")
        chain = self._chained()
        # from the window's first day, or earlier for the partitions and exports of older sales
        first = min(
            [self.day - timedelta(days=LOOKBACK)] + [o.created_at.date() for o in self.orders]
        )
        for offset in range((last - first).days + 1):
            day = first + timedelta(days=offset)
            orders = [o for o in self.orders if o.created_at.date() == day]
            txns = [t for t in chain if t[0].created_at.date() == day and t[0].served]
            publish(lake, "orders", day, [order_row(o) for o in orders])
            publish(lake, "transactions", day, [_txn_row(t, balance) for t, balance in txns])
            balances: dict[str, Decimal] = {}
            for txn, balance in chain:
                if txn.created_at.date() <= day:
                    balances[txn.currency] = balance
            publish(
                lake,
                "wallets",
                day,
                [
                    {"currency": c, "wallet_id": f"wal_{c}", "balance": b}
                    for c, b in balances.items()
                ],
            )
        # every export the partner writes up to the last night, and the later ones that book
        # what happened by then (a partner ahead of UTC books D's evening on its D+1)
        for day in self.profile.exports(first - timedelta(days=1), max([last, *self.ledgers])):
            self.write_ledger(root, day)
        sheet = root / "discounts.csv"
        terms = [(f"card-{c.lower()}", c, p, "") for c, p in DISCOUNTS.items()] + self.sheet
        sheet.write_text(
            "product_id,currency,discount_percent,valid_from\n"
            + "".join(",".join(term) + "\n" for term in terms)
        )
        return config.from_dict(
            {
                "starship": {"lookback_days": LOOKBACK},
                "storage": {"data_dir": str(root / "var")},
                # under root: the default, reports/out, is the checkout's own when tests run
                "report": {"out_dir": str(root / "reports")},
                "ledger": {
                    "path": str(root / f"ledger-{{date}}.{self.profile.suffix}"),
                    "timezone": self.timezone,
                    "business_day_timezone": self.profile.zone,
                    "amount_unit": self.profile.amount_unit,
                    "purchase_sign": self.profile.purchase_sign,
                    "status_map": {"delivered": "DELIVERED", "cancelled": "CANCELLED"},
                    **self.profile.settings(),
                },
                "checks": {
                    "grace_minutes": GRACE_MINUTES,
                    "stuck_pending_hours": STUCK_HOURS,
                    "low_wallet_balance": self.floors,
                    "discount_sheet": str(sheet),
                },
            }
        )

    def write_ledger(self, root: Path, day: date) -> Path:
        """The export of `day` as the profile writes it: its format, units and sign."""
        path = root / f"ledger-{day}.{self.profile.suffix}"
        rows = [self._shaped(self._as_exported(row)) for row in self.ledgers.get(day, [])]
        fields = self.profile.fields
        if self.profile.format == "csv":
            with path.open("w", newline="", encoding="utf-8") as out:
                writer = csv.DictWriter(out, fieldnames=fields, delimiter=self.profile.delimiter)
                writer.writeheader()
                writer.writerows(rows)
        elif self.profile.format == "jsonl":  # amounts as JSON numbers, where they are numbers
            path.write_text(
                "".join(
                    "{"
                    + ", ".join(
                        f"{json.dumps(k)}: " + (_json_amount(v) if k in AMOUNTS else json.dumps(v))
                        for k, v in row.items()
                    )
                    + "}\n"
                    for row in rows
                ),
                encoding="utf-8",
            )
        elif self.profile.format == "parquet":
            table = pa.table(
                {name: pa.array([r.get(name) for r in rows], pa.string()) for name in fields}
            )
            import pyarrow.parquet as pq

            pq.write_table(table, path)
        else:  # a spreadsheet: amounts as number cells, the rest as text
            from openpyxl import Workbook

            book = Workbook()
            sheet = book.active
            sheet.append(list(fields))
            for r in rows:
                sheet.append([_cell(name, r.get(name)) for name in fields])
            book.save(path)
        return path

    def _as_exported(self, row: dict[str, str]) -> dict[str, str]:
        """A row in the profile's units and sign (the rows are kept in major units, purchases
        positive)."""
        text = row["amount"]
        try:
            amount = Decimal(text.replace(",", ""))
        except ArithmeticError:
            return dict(row)  # not a number: written as it is
        if self.profile.purchase_sign == "negative":
            amount = -amount
        if self.profile.amount_unit == "minor":
            try:
                exponent = -quantum(row["currency"]).as_tuple().exponent
            except MoneyError:  # a currency recon does not know: written as it is
                return dict(row)
            return {**row, "amount": str(int(amount.scaleb(int(exponent))))}
        return {**row, "amount": f"{amount:,}" if "," in text else str(amount)}

    def _shaped(self, row: dict[str, str]) -> dict[str, str]:
        """A row as exported (`_as_exported`) in the profile's regional shape."""
        shaped = dict(row)
        booked = shaped["booked_at"]
        pattern = DATE_WRITERS.get(self.profile.date_format, self.profile.date_format)
        if self.profile.date_format != "iso":
            try:
                moment = datetime.strptime(booked, "%Y-%m-%d %H:%M:%S")
            except ValueError:
                pass  # not a moment: written as it is
            else:
                shaped["booked_at"] = moment.strftime(pattern)
        # JSON numbers and number cells are numbers: only text amounts take the decimal comma
        amount = shaped.pop("amount")
        if self.profile.decimal_separator == "," and self.profile.format in ("csv", "parquet"):
            amount = amount.translate(str.maketrans(",.", ".,"))
        if not self.profile.sides:
            return {**shaped, "amount": amount}
        # debit minus credit is the signed amount as exported (after purchase_sign)
        negative = amount.startswith("-")
        side = amount[1:] if negative else amount
        # accounting systems fill the other side with 0 or nothing: by turns, by entry id (not
        # by the books' random numbers, which would move every plant drawn after)
        blank = "0.00" if sum(map(ord, shaped["entry_id"])) % 2 else ""
        debit, credit = (blank, side) if negative else (side, blank)
        return {**shaped, "debit": debit, "credit": credit}

    def _chained(self) -> list[tuple[Txn, Decimal]]:
        balances: dict[str, Decimal] = {}
        chain = []
        for txn in sorted(self.transactions, key=lambda t: (t.created_at, t.transaction_id)):
            balances[txn.currency] = balances.get(txn.currency, Decimal(0)) + txn.amount
            chain.append((txn, balances[txn.currency]))
        return chain


def _json_amount(text: str) -> str:
    try:
        return str(Decimal(text.replace(",", "")))
    except ArithmeticError:
        return json.dumps(text)


def _cell(name: str, value: str | None) -> object:
    if name in AMOUNTS and value == "":
        return None  # an empty cell
    if name in AMOUNTS and value is not None:
        try:
            return float(Decimal(value.replace(",", "")))
        except ArithmeticError:
            return value
    return value


def order_row(order: Order) -> dict[str, object]:
    """`order` as a row of the lake's `orders` dataset, as an extraction stages it."""
    delivered = order.quantity if order.status == "DELIVERED" else order.delivered or 0
    return {
        "order_id": order.order_id,
        "status": order.status,
        "sub_status": order.sub_status,
        "product_id": order.product_id,
        "denomination": order.denomination,
        "quantity": order.quantity,
        "total_amount": order.total,
        "currency": order.currency,
        "client_reference": order.reference,
        "created_at": order.created_at,
        "updated_at": order.updated_at or order.created_at,
        "item_count": order.quantity,
        "delivered_item_count": delivered,
        "trace_id": "trace-test",
    }


def _txn_row(txn: Txn, balance: Decimal) -> dict[str, object]:
    return {
        "transaction_id": txn.transaction_id,
        "type": txn.type,
        "order_id": txn.order_id,
        "amount": txn.amount,
        "currency": txn.currency,
        "balance_after": balance,
        "created_at": txn.created_at,
        "trace_id": "trace-test",
    }


def publish(lake: Lake, dataset: str, day: date, rows: list[dict[str, object]]) -> None:
    """`rows` as `dataset`'s complete partition for `day` (a column a row lacks is null)."""
    from recon.lake import DATASETS

    schema = DATASETS[dataset].schema
    with lake.staging(dataset, day) as staging:
        if rows:
            table = pa.Table.from_pylist(
                [{name: row.get(name) for name in schema.names} for row in rows], schema=schema
            )
            for batch in table.to_batches():
                staging.write(batch)
        lake.publish(staging, dataset, day, {"dataset": dataset, "complete": True})
