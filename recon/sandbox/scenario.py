"""A partner's week with Starship, generated from a seed.

One `Scenario` holds both sides of the books for a scenario date D:

* Starship's side, as the sandbox serves it: the orders of D and the six days before it (every
  path of docs/starship-api.md, Order lifecycle), the wallet transactions with `balance_after`,
  the wallet balances, and the planned `/reconciliation/D` answer;
* the partner's side: its ledger export for D, with planted discrepancies of every check in the
  design's vocabulary, plus dirty rows that must be quarantined;
* the answer key: exactly which findings a correct reconciliation of D reports.

The sandbox serves the state as it stands 30 minutes after D ends (`snapshot_at`). Same seed,
same arguments: same bytes, always (no wall clock, no set ordering, one `random.Random`).

Sandbox rules, stated because the docs leave them open: an order's `total_amount` is its
denomination x quantity x (1 - the partner's discount on the product), rounded half-up to the
currency's minor unit (docs/starship-api.md, Integration journey: every partner has a negotiated
discount per product, so a total below face value is normal); the wallet is debited that total
when an order is created, on both the cache-hit and the PENDING path; a cancellation credits it
back (`REFUND`) unless the sub-status is `NOT_REFUNDED`. Transaction amounts are signed.

The partner's books are movements, exported every night: each day's export books the orders
created that day in their state at the end of the day, and a later day's export books a
cancellation of an earlier order as a reversal row (the amount negated). The scenario writes
the exports of the whole week, so the window's memory has something to remember.
"""

from __future__ import annotations

import csv
import io
import json
import random
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from recon.money import format_amount, minor_unit, quantum

DEFAULT_DATE = date(2026, 4, 14)
DEFAULT_SEED = 20260414
DEFAULT_ORDERS_PER_DAY = 10
WEEK_DAYS = 7
LEDGER_TIMEZONE = "Europe/Berlin"  # the partner books in local time, without an offset
GRACE_MINUTES = 60  # an order this close to midnight may land on tomorrow's export
STUCK_PENDING_HOURS = 24
LOW_WALLET_FLOORS = {"USD": "1000.00", "KWD": "1000.000"}

# The ledger export's own column names: not ours, mapped through [ledger.columns].
LEDGER_COLUMNS = {
    "entry_id": "Entry ID",
    "order_id": "Starship Order",
    "reference": "Our Ref",
    "amount": "Amount",
    "currency": "Ccy",
    "status": "Status",
    "booked_at": "Booked At",
}
LEDGER_MEMO_COLUMN = "Memo"  # an extra column recon must ignore
LEDGER_STATUS_MAP = {
    "delivered": "DELIVERED",
    "refunded": "CANCELLED",
    "cancelled": "CANCELLED",
    "pending": "PENDING",
}


@dataclass(frozen=True)
class Cut:
    """How the partner cuts its exports into files. The default is the demo's partner: one
    export per UTC day, its clocks in Berlin. A `zone` cuts one export per business day of
    that zone instead, booked on that zone's clocks (a Pacific partner's export for a date
    holds orders of the next UTC day); without `weekends`, the bookings of a Saturday and a
    Sunday wait on Monday's export."""

    zone: str | None = None
    weekends: bool = True

    def __post_init__(self) -> None:
        if self.zone is not None:
            ZoneInfo(self.zone)  # an unknown zone fails here, not halfway through a scenario

    @property
    def clock(self) -> ZoneInfo:
        """The zone of the export's Booked At."""
        return ZoneInfo(self.zone or LEDGER_TIMEZONE)

    @property
    def business_zone(self) -> ZoneInfo:
        return ZoneInfo(self.zone or "UTC")

    def export_of(self, business_day: date) -> date:
        """The export that holds the bookings of `business_day`: its own, or Monday's."""
        while not self.weekends and business_day.weekday() >= 5:
            business_day += timedelta(days=1)
        return business_day

    def close_on(self, d: date) -> datetime:
        """The last close of a business day within UTC day `d` (the end of `d`, cut at UTC).
        A row no order claims is judged on the last UTC day its export touches, so the
        scenario books those rows before this close, where night `d` judges them."""
        start = datetime.combine(d, time(), tzinfo=UTC)
        end = start + timedelta(days=1)
        local = end.astimezone(self.business_zone).date()
        for day in (local, local - timedelta(days=1)):
            close = datetime.combine(day, time(), tzinfo=self.business_zone).astimezone(UTC)
            if start < close <= end:
                business_day = day - timedelta(days=1)
                if self.export_of(business_day) != business_day:
                    raise ValueError(
                        f"the business day that closes on {d} ({business_day}) has no export "
                        "of its own: pick a scenario date whose closing export is a weekday"
                    )
                return close
        raise ValueError(f"no business day of {self.zone} closes within {d} (UTC)")


@dataclass(frozen=True)
class Product:
    product_id: str
    name: str
    category: str
    vendor: str
    currency: str
    country: str
    denominations: tuple[str, ...]
    delivery_time: str = "INSTANT"
    discount: Decimal = Decimal(0)  # the partner's negotiated discount (CPD), in percent


PRODUCTS: tuple[Product, ...] = (
    Product(
        "amazon-gift-usd",
        "Amazon.com Gift Card",
        "shopping",
        "voucherkart",
        "USD",
        "US",
        ("10.00", "25.00", "50.00", "100.00", "500.00"),
        discount=Decimal("3.5"),
    ),
    Product(
        "starbucks-eur",
        "Starbucks Card",
        "food-and-drink",
        "bamboo",
        "EUR",
        "DE",
        ("5.00", "10.00", "25.00"),
    ),
    Product(
        "zalando-eur",
        "Zalando Gift Card",
        "shopping",
        "bamboo",
        "EUR",
        "DE",
        ("25.00", "50.00", "100.00"),
        "DELAYED",
        Decimal("5.25"),
    ),
    Product(
        "apple-jpy",
        "Apple Gift Card",
        "entertainment",
        "pinelabs",
        "JPY",
        "JP",
        ("1000", "3000", "5000", "10000"),
        discount=Decimal("2.5"),
    ),
    Product(
        "talabat-kwd",
        "Talabat Voucher",
        "food-and-drink",
        "voucherkart",
        "KWD",
        "KW",
        ("2.500", "5.000", "10.000", "20.000"),
        discount=Decimal("1.75"),
    ),
)
PRODUCTS_BY_ID = {product.product_id: product for product in PRODUCTS}
_USD, _KWD = (
    PRODUCTS_BY_ID["amazon-gift-usd"],
    PRODUCTS_BY_ID["talabat-kwd"],
)  # the plants' usual two

# "CPD changes without notice" (docs/starship-api.md, Integration journey). From noon on D,
# Starship charges this product at another discount than the partner's sheet says: a silent
# drift only discount_drift sees.
CPD_CHANGE = ("zalando-eur", time(12), Decimal("4.5"))

# Opening balances: large enough that no week goes negative, except KWD, which is meant to sit
# below its floor (the low_wallet_balance alert), and EUR (RUNWAY_CURRENCY), which is topped up
# with just what its week will spend: D ends with about a day and a quarter's spend, too little
# for the two days' notice (the wallet_runway alert).
OPENING_BALANCES = {"USD": "25000.00", "JPY": "1500000", "KWD": "750.000"}
RUNWAY_CURRENCY = "EUR"
RUNWAY_DAYS = 2  # [checks] wallet_runway_days, the default
RUNWAY_WINDOW_DAYS = 7  # [checks] wallet_runway_window_days, the default

BACKGROUND_PATHS = (  # (path, weight): the common shapes of the order lifecycle
    ("instant", 60),
    ("pending_delivered", 15),
    ("pending_cancelled", 10),
    ("gv_link", 8),
    ("reconciled", 7),
)
UNKNOWN_SUB_STATUS = "VOUCHER_REISSUED"  # not in the documented table: recon must keep it
UNKNOWN_TRANSACTION_TYPE = "FX_ADJUSTMENT"


@dataclass
class Item:
    item_id: str
    status: str
    voucher_code: str | None = None  # a secret: served by the sandbox, never kept by recon
    pin: str | None = None
    expiry: str | None = None


@dataclass
class Order:
    order_id: str
    product_id: str
    denomination: Decimal
    quantity: int
    currency: str
    status: str
    sub_status: str
    fulfilled_from: str | None
    client_reference: str
    idempotency_key: str
    created_at: datetime
    updated_at: datetime
    items: list[Item] = field(default_factory=list)
    path: str = "instant"  # the lifecycle path that produced it (for humans; not served)
    planted: bool = False  # carries a planted discrepancy, so no other plant may reuse it
    discount: Decimal = Decimal(0)  # percent off the face value, as charged
    cancelled_at: datetime | None = None

    @property
    def total_amount(self) -> Decimal:
        return discounted(self.denomination * self.quantity, self.discount, self.currency)

    @property
    def kept_amount(self) -> Decimal:
        """What Starship keeps once it cancels: the share of the items delivered before."""
        if self.status != "CANCELLED":
            return self.total_amount
        delivered = sum(1 for item in self.items if item.status == "DELIVERED")
        if not delivered:
            return Decimal(0)
        return delivered_share(self.total_amount, delivered, self.quantity, self.currency)


def discounted(face_value: Decimal, percent: Decimal, currency: str) -> Decimal:
    """The total charged: face value less `percent`, rounded half-up to the minor unit."""
    exact = face_value * (100 - percent) / 100
    return exact.quantize(quantum(currency), rounding=ROUND_HALF_UP)


def delivered_share(total: Decimal, delivered: int, quantity: int, currency: str) -> Decimal:
    """What Starship keeps of a cancelled order's total for the items it delivered before the
    cancellation (the rest is refunded): total x delivered / quantity, rounded half-up to the
    minor unit. recon's rule is the same (sql/setup/macros.sql, delivered_share)."""
    if quantity < 1 or delivered >= quantity:
        return total
    return (total * delivered / quantity).quantize(quantum(currency), rounding=ROUND_HALF_UP)


@dataclass
class Transaction:
    transaction_id: str
    type: str
    order_id: str | None
    amount: Decimal  # signed: debits negative
    currency: str
    created_at: datetime
    balance_after: Decimal | None = None
    description: str = ""


# `date` in Scenario's annotations after its field of that name is the field: this is the type
Day = date


@dataclass
class Scenario:
    seed: int
    date: date
    orders_per_day: int
    snapshot_at: datetime
    products: tuple[Product, ...]
    orders: list[Order]
    transactions: list[Transaction]  # as served: the balance_gap plant is already removed
    wallets: dict[str, Decimal]  # the true balances at snapshot_at
    reconciliation: dict[str, Any]  # GET /reconciliation/{date}
    exports: dict[Day, list[dict[str, str]]]  # the partner's exports, by their date
    answer_key: dict[str, Any]
    cut: Cut = field(default_factory=Cut)

    @property
    def ledger_rows(self) -> list[dict[str, str]]:
        """The rows of the export dated D."""
        return self.exports.get(self.date, [])

    def ledger_csv(self, day: Day | None = None) -> str:
        """The partner's ledger export for `day` (default the scenario date), as CSV text."""
        rows = self.exports[day or self.date]
        out = io.StringIO()
        headers = [*LEDGER_COLUMNS.values(), LEDGER_MEMO_COLUMN]
        writer = csv.DictWriter(out, fieldnames=headers, lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)
        return out.getvalue()

    def discount_sheet_csv(self) -> str:
        """The partner's discount sheet as agreed: it does not know of CPD_CHANGE."""
        return discount_sheet_csv(self.date)

    def answer_key_json(self) -> str:
        return json.dumps(self.answer_key, indent=2, sort_keys=False) + "\n"

    def write_fixture(self, folder: Path) -> list[Path]:
        """Write the ledger export and the answer key into `folder`; return the paths."""
        folder.mkdir(parents=True, exist_ok=True)
        written = []
        for day in self.exports:
            ledger = folder / f"ledger-{day.isoformat()}.csv"
            ledger.write_text(self.ledger_csv(day), encoding="utf-8", newline="")
            written.append(ledger)
        sheet = folder / DISCOUNT_SHEET
        sheet.write_text(self.discount_sheet_csv(), encoding="utf-8", newline="")
        key = folder / f"answer-key-{self.date.isoformat()}.json"
        key.write_text(self.answer_key_json(), encoding="utf-8", newline="")
        return [*written, sheet, key]


DISCOUNT_SHEET = "discounts.csv"


def discount_sheet_csv(day: date = DEFAULT_DATE) -> str:
    """The sheet the partner signed for the quarter of `day`: each product's discount, after
    an older rate (`valid_from` picks the one in force on the order's day)."""
    older, current = day - timedelta(days=90), day - timedelta(days=WEEK_DAYS + 3)
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["product_id", "currency", "discount_percent", "valid_from"])
    for product in PRODUCTS:
        if product.discount:  # the rate before this quarter's renegotiation
            rate = product.discount - Decimal("0.5")
            writer.writerow([product.product_id, product.currency, rate, older])
            writer.writerow([product.product_id, product.currency, product.discount, current])
        else:
            writer.writerow([product.product_id, product.currency, product.discount, ""])
    return out.getvalue()


def iso(moment: datetime) -> str:
    """UTC ISO 8601 with a Z, to the second, as the API writes timestamps."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


class _Builder:
    """Holds the random source and the growing books while a scenario is made."""

    def __init__(self, seed: int, scenario_date: date, orders_per_day: int, cut: Cut) -> None:
        self.rng = random.Random(seed)
        self.date = scenario_date
        self.orders_per_day = orders_per_day
        self.cut = cut
        self.day_start = datetime.combine(scenario_date, time(), tzinfo=UTC)
        self.day_end = self.day_start + timedelta(days=1)
        self.cut_off = cut.close_on(scenario_date)  # the end of D, for a UTC cut
        # Rows no order claims are booked before the cut-off, so night D judges them.
        self.unclaimed_latest = min(time(22, 55), (self.cut_off - timedelta(minutes=10)).time())
        if self.cut_off - self.day_start < timedelta(minutes=20):
            raise ValueError(f"{cut.zone}'s business day closes too soon after UTC midnight")
        self.snapshot_at = self.day_end + timedelta(minutes=30)
        self.orders: list[Order] = []
        self.transactions: list[Transaction] = []
        self.findings: list[dict[str, Any]] = []
        self.ids: set[str] = set()
        self.references = 0
        self.unreversed: set[str] = set()  # later cancellations the partner never books
        self.entry_number = 1000  # entry ids run on across the week's exports
        self.late_night: Order | None = None  # the unbooked order just before the cut-off
        self.seed = seed

    @contextmanager
    def drawing_from(self, rng: random.Random) -> Iterator[None]:
        """Draw from `rng` instead of the scenario's random: a plant added later leaves every
        other order, id and row of the scenario as it was."""
        saved, self.rng = self.rng, rng
        try:
            yield
        finally:
            self.rng = saved

    # -- identifiers ---------------------------------------------------------------------------

    def new_id(self, prefix: str) -> str:
        while True:
            candidate = f"{prefix}_{self.rng.getrandbits(64):016x}"
            if candidate not in self.ids:
                self.ids.add(candidate)
                return candidate

    def new_reference(self, created_at: datetime) -> str:
        self.references += 1
        return f"po-{created_at:%Y%m%d}-{self.references:05d}"

    def voucher_code(self) -> str:
        alphabet = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"
        groups = ("".join(self.rng.choice(alphabet) for _ in range(4)) for _ in range(4))
        return "-".join(groups)

    # -- orders --------------------------------------------------------------------------------

    def moment(
        self, day: date, earliest: time | None = None, latest: time | None = None
    ) -> datetime:
        """A random moment of `day` (UTC). Left free, never within the grace before the
        cut-off, where an unbooked order is only `expected` (a plant there is placed so)."""
        free = earliest is None and latest is None
        start = datetime.combine(day, earliest or time(0, 5), tzinfo=UTC)
        end = datetime.combine(day, latest or time(22, 55), tzinfo=UTC)
        grace = self.cut_off - timedelta(minutes=GRACE_MINUTES)
        while True:
            seconds = self.rng.randrange(int((end - start).total_seconds()))
            moment = start + timedelta(seconds=seconds)
            if not (free and grace <= moment < self.cut_off):
                return moment

    def place(
        self,
        created_at: datetime,
        *,
        product: Product | None = None,
        quantity: int | None = None,
        reference: str | None = None,
        denomination: Decimal | None = None,
    ) -> Order:
        """An order as POST /orders creates it, with its wallet debit; delivered from cache."""
        product = product or self.rng.choice(PRODUCTS)
        denomination = denomination or Decimal(self.rng.choice(product.denominations))
        quantity = quantity or self.rng.choice((1, 1, 1, 2, 3))
        order = Order(
            order_id=self.new_id("ord"),
            product_id=product.product_id,
            denomination=denomination,
            quantity=quantity,
            currency=product.currency,
            status="DELIVERED",
            sub_status="COMPLETED",
            fulfilled_from="cache",
            client_reference=reference or self.new_reference(created_at),
            idempotency_key=f"idem-{self.rng.getrandbits(96):024x}",
            created_at=created_at,
            updated_at=created_at + timedelta(milliseconds=self.rng.randrange(200, 800)),
            discount=self.discount(product, created_at),
        )
        self.orders.append(order)
        self.debit(order)
        return order

    def discount(self, product: Product, at: datetime) -> Decimal:
        """The discount Starship charges `product` at `at`: the sheet's, until CPD_CHANGE."""
        changed, since, percent = CPD_CHANGE
        if product.product_id == changed and at >= datetime.combine(self.date, since, UTC):
            return percent
        return product.discount

    def debit(self, order: Order) -> None:
        self.transactions.append(
            Transaction(
                self.new_id("txn"),
                "ORDER_DEBIT",
                order.order_id,
                -order.total_amount,
                order.currency,
                order.created_at,
                description=f"Order {order.client_reference}",
            )
        )

    def deliver(self, order: Order, *, count: int | None = None) -> None:
        """Allocate vouchers to the first `count` units (all by default), the rest pending."""
        delivered = order.quantity if count is None else count
        expiry = (order.created_at + timedelta(days=365)).date().isoformat()
        order.items = [
            Item(
                self.new_id("itm"),
                "DELIVERED",
                self.voucher_code(),
                f"{self.rng.randrange(10_000):04d}",
                expiry,
            )
            if unit < delivered
            else Item(self.new_id("itm"), "PENDING")
            for unit in range(order.quantity)
        ]

    def park(self, order: Order, sub_status: str = "VENDOR_ORDER_PENDING") -> None:
        order.status, order.sub_status, order.fulfilled_from = "PENDING", sub_status, None
        order.items = []

    def cancel(
        self, order: Order, at: datetime, *, refunded: bool = True, keep_delivered: bool = False
    ) -> None:
        """Cancel `order` at `at`: every item, or (`keep_delivered`, a partial delivery that
        converges to CANCELLED) the items not delivered yet, refunding the rest of the total."""
        order.status = "CANCELLED"
        order.sub_status = "REFUNDED" if refunded else "NOT_REFUNDED"
        order.updated_at = order.cancelled_at = at
        for item in order.items:
            if not (keep_delivered and item.status == "DELIVERED"):
                item.status = "CANCELLED"
        if refunded:
            self.transactions.append(
                Transaction(
                    self.new_id("txn"),
                    "REFUND",
                    order.order_id,
                    order.total_amount - order.kept_amount,
                    order.currency,
                    at,
                    description=f"Refund {order.client_reference}",
                )
            )

    def background_order(self, day: date, path: str | None = None) -> Order:
        """One order of an ordinary day, on one of the lifecycle's common paths; always clean."""
        path = (
            path
            or self.rng.choices(
                [p for p, _ in BACKGROUND_PATHS], weights=[w for _, w in BACKGROUND_PATHS]
            )[0]
        )
        order = self.place(self.moment(day))
        order.path = path
        if path == "instant":
            order.sub_status = self.rng.choice(("COMPLETED", "INVENTORY_FULFILLED"))
            self.deliver(order)
        elif path == "gv_link":
            order.sub_status = self.rng.choice(("GV_LINK_UNCLAIMED", "GV_LINK_CLAIMED"))
            self.deliver(order)
        elif path == "reconciled":
            order.sub_status = "RECONCILED"
            self.deliver(order)
        else:
            resolved_at = order.created_at + timedelta(minutes=self.rng.randrange(20, 360))
            # Nothing happens after the end of D: what D's books show is final at the cut-off.
            if resolved_at >= self.day_end:  # not resolved yet: a fresh PENDING, not stuck
                self.park(order)
                order.path = "pending"
            elif path == "pending_delivered":
                order.fulfilled_from, order.updated_at = "vendor", resolved_at
                self.deliver(order)
            else:
                self.park(order, "VENDOR_ORDER_FAILED")
                self.cancel(order, resolved_at)
        return order

    # -- findings ------------------------------------------------------------------------------

    def expect_order(
        self,
        check: str,
        note: str,
        order: Order,
        *,
        amount: bool = True,
        status: bool = True,
        **keys: Any,
    ) -> None:
        """A finding about `order`: its id, reference and currency, Starship's amount and
        status unless told not, then `keys`."""
        self.expect(
            check,
            note,
            state=keys.pop("state", "new"),
            order_id=order.order_id,
            reference=order.client_reference,
            currency=order.currency,
            starship_amount=format_amount(order.total_amount, order.currency) if amount else None,
            starship_status=order.status if status else None,
            **keys,
        )

    def expect(self, check: str, note: str, **keys: Any) -> None:
        finding = {"check": check, "severity": SEVERITY[check], "state": keys.pop("state", "new")}
        finding.update({key: value for key, value in keys.items() if value is not None})
        finding["note"] = note
        self.findings.append(finding)


SEVERITY = {
    "missing_in_ledger": "error",
    "missing_at_starship": "error",
    "amount_mismatch": "error",
    "currency_mismatch": "error",
    "status_mismatch": "error",
    "duplicate_order": "error",
    "duplicate_ledger_entry": "error",
    "wallet_mismatch": "error",
    "balance_gap": "error",
    "stuck_pending": "warning",
    "low_wallet_balance": "warning",
    "wallet_runway": "warning",
    "starship_reported_drift": "warning",
    "discount_drift": "warning",
    "unknown_status": "info",
}


def generate(
    seed: int = DEFAULT_SEED,
    scenario_date: date = DEFAULT_DATE,
    orders_per_day: int = DEFAULT_ORDERS_PER_DAY,
    cut: Cut | None = None,
) -> Scenario:
    """Make the scenario for `scenario_date`: the same arguments always give the same bytes."""
    cut = cut or Cut()
    b = _Builder(seed, scenario_date, orders_per_day, cut)
    d = scenario_date
    days = [d - timedelta(days=back) for back in range(WEEK_DAYS - 1, -1, -1)]

    for day in days:
        # Yesterday takes each common path once, so every seed exercises all of them.
        forced = [p for p, _ in BACKGROUND_PATHS] if day == d - timedelta(days=1) else []
        for number in range(orders_per_day):
            b.background_order(day, forced[number] if number < len(forced) else None)

    _plant_starship_side(b, d)
    ledger_orders = _plant_ledger_side(b, d)
    partial = _partial_delivery(b, d)
    transactions, gap = _chain_transactions(b)
    _plant_balance_gap(b, transactions, gap)
    wallets = _wallet_balances(b.transactions)
    _plant_low_balance(b, wallets)
    _expect_short_runways(b, transactions)
    reconciliation = _reconciliation(b, d)
    earlier_exports = _earlier_exports(b, d)
    _expect_discount_drifts(b)
    ledger_rows, quarantine = _ledger_rows(b, ledger_orders)
    _book_partial_delivery(b, partial, ledger_rows)
    exports = _cut_exports(b, earlier_exports, ledger_rows)
    _settle_late_night(b, exports)
    _expect_missed_cancellations(b, exports)
    where = _locate(b, exports, quarantine)

    b.orders.sort(key=lambda o: (o.created_at, o.order_id))
    day_orders = [o for o in b.orders if b.day_start <= o.created_at < b.day_end]
    answer_key = {
        "about": (
            "Findings a correct reconciliation of the scenario date reports, given the "
            "settings below. Generated by recon.sandbox.scenario; do not edit by hand."
        ),
        "scenario": {
            "seed": seed,
            "date": d.isoformat(),
            "orders_per_day": orders_per_day,
            "snapshot_at": iso(b.snapshot_at),
        },
        "settings": {
            "ledger_timezone": cut.clock.key,
            "ledger_columns": LEDGER_COLUMNS,
            "ledger_status_map": LEDGER_STATUS_MAP,
            "stuck_pending_hours": STUCK_PENDING_HOURS,
            "grace_minutes": GRACE_MINUTES,
            "low_wallet_balance": LOW_WALLET_FLOORS,
            "wallet_runway_days": RUNWAY_DAYS,
            "wallet_runway_window_days": RUNWAY_WINDOW_DAYS,
            "lookback_days": WEEK_DAYS,
            "tolerance": "exact",
            **_cut_settings(cut),
            "duplicate_order": (
                "an unbooked order that shares its client_reference with a booked order of D "
                "is reported once, as duplicate_order, not also as missing_in_ledger"
            ),
            "cut_off": "ages and states are taken at the end of D (midnight UTC after it)",
        },
        "counts": {
            "starship_orders_on_date": len(day_orders),
            "starship_orders_in_window": len(b.orders),
            "transactions_on_date": sum(
                b.day_start <= t.created_at < b.day_end for t in transactions
            ),
            "ledger_rows": len(ledger_rows),
            "quarantined": len(quarantine),
        },
        "findings": sorted(b.findings, key=lambda f: (f["check"], json.dumps(f, sort_keys=True))),
        "quarantine": quarantine,
        "clean_but_tricky": _clean_but_tricky(b, ledger_rows, where),
    }
    return Scenario(
        seed,
        d,
        orders_per_day,
        b.snapshot_at,
        PRODUCTS,
        b.orders,
        transactions,
        wallets,
        reconciliation,
        exports,
        answer_key,
        cut,
    )


PARTIAL_DELIVERY_SEED = 0x9A271A1  # the partial delivery's own random (Builder.drawing_from)


def _partial_delivery(b: _Builder, d: date) -> Order:
    """Path 3 of docs/starship-api.md, Order lifecycle: an order of three vouchers placed early
    on D, two delivered and the third pending (PARTIALLY_DELIVERED), cancelled later on D:
    Starship keeps the two delivered vouchers' share and refunds the third. Clean: the
    partner books the sale and the refund of the third (`_book_partial_delivery`), a partial
    reversal, matched with no finding."""
    with b.drawing_from(random.Random(b.seed ^ PARTIAL_DELIVERY_SEED)):
        order = b.place(
            b.moment(d, time(2), time(4)),
            product=PRODUCTS_BY_ID["amazon-gift-usd"],
            quantity=3,
        )
        b.deliver(order, count=2)
        order.status, order.sub_status, order.fulfilled_from = (
            "PARTIALLY_DELIVERED",
            "PARTIAL",
            "vendor",
        )
        b.cancel(order, b.moment(d, time(9), time(11)), keep_delivered=True)
    order.path = "partial_delivery"
    return order


def _book_partial_delivery(b: _Builder, order: Order, rows: list[dict[str, str]]) -> None:
    """The partial delivery's sale and the refund of its third voucher, at the end of D's
    export (appended: no other row's line moves)."""
    with b.drawing_from(random.Random(b.seed ^ PARTIAL_DELIVERY_SEED ^ 1)):
        for change in ({"status": "delivered"}, {"reversal": "yes"}):
            b.entry_number += 1
            rows.append(_booking_row(b, order, change, f"LE-{b.entry_number}", b.day_end))


def _expect_missed_cancellations(b: _Builder, exports: dict[date, list[dict[str, str]]]) -> None:
    """status_mismatch on D for each sale Starship cancelled on D that no export reverses,
    naming the sale's entry and its line in its own export."""
    cols = LEDGER_COLUMNS
    for order in b.orders:
        if order.order_id not in b.unreversed:
            continue
        day, line, row = next(
            (day, line, row)
            for day, rows in exports.items()
            for line, row in enumerate(rows, start=2)
            if row[cols["order_id"]] == order.order_id
        )
        b.expect(
            "status_mismatch",
            f"delivered and booked on {day}, cancelled and refunded on D; no export reverses it",
            order_id=order.order_id,
            ledger_entry_id=row[cols["entry_id"]],
            line=line,
            reference=order.client_reference,
            currency=order.currency,
            starship_amount=format_amount(order.total_amount, order.currency),
            ledger_amount=format_amount(order.total_amount, order.currency),
            starship_status="CANCELLED",
            starship_sub_status=order.sub_status,
            ledger_status="DELIVERED",
        )


def _expect_discount_drifts(b: _Builder) -> None:
    """discount_drift for each order of D charged at another discount than its product's."""
    for order in b.orders:
        product = PRODUCTS_BY_ID[order.product_id]
        if b.day_start <= order.created_at < b.day_end and order.discount != product.discount:
            face = order.denomination * order.quantity
            agreed = discounted(face, product.discount, order.currency)
            b.expect_order(
                "discount_drift",
                f"charged {order.discount} % off; the sheet says {product.discount} %",
                order,
                status=False,
                delta=format_amount(order.total_amount - agreed, order.currency),
            )


# -- Starship's side --------------------------------------------------------------------------


def _plant_starship_side(b: _Builder, d: date) -> None:
    """Orders on the paths that must be recognised, each recorded in the answer key."""
    usd, eur = PRODUCTS_BY_ID["amazon-gift-usd"], PRODUCTS_BY_ID["starbucks-eur"]

    # A late cancellation: delivered two days ago (booked on that day's export), cancelled and
    # refunded today, and reversed on D's export. Clean: the reversal nets the sale, the refund
    # nets the debit.
    late = b.place(b.moment(d - timedelta(days=2), time(9), time(12)), product=usd)
    late.path = "late_cancellation"
    b.deliver(late)
    b.cancel(late, b.moment(d, time(10), time(12)))

    # ... and one the partner missed: delivered three days ago, cancelled and refunded today,
    # and no export reverses the sale. Found on D, against the export of three days ago.
    missed = b.place(
        b.moment(d - timedelta(days=3), time(9), time(12)), product=PRODUCTS_BY_ID["apple-jpy"]
    )
    missed.path = "late_cancellation_missed"
    b.deliver(missed)
    b.cancel(missed, b.moment(d, time(12), time(14)))
    b.unreversed.add(missed.order_id)

    # Stuck PENDING from earlier days (older than 24 h at the end of D), each its own shape.
    stuck = b.place(b.moment(d - timedelta(days=3), time(8), time(12)), product=eur)
    stuck.path = "stuck_pending"
    b.park(stuck)
    reprocess = b.place(
        datetime.combine(d - timedelta(days=1), time(6), tzinfo=UTC),
        product=PRODUCTS_BY_ID["apple-jpy"],
    )
    reprocess.path = "stuck_pending"
    b.park(reprocess, "PENDING_REPROCESS")
    bulk = b.place(
        b.moment(d - timedelta(days=2), time(13), time(15)),
        product=usd,
        quantity=60,
        denomination=Decimal("10.00"),  # 600.00: no seed may drain the wallet with it
    )
    bulk.path = "bulk"  # qty > 50: PENDING with no items yet (docs/starship-api.md, Fulfilment)
    b.park(bulk, "INITIAL")
    partial = b.place(
        b.moment(d - timedelta(days=2), time(8), time(10)),
        product=PRODUCTS_BY_ID["talabat-kwd"],
        quantity=3,
    )
    partial.path = "partially_delivered"
    partial.status, partial.sub_status = "PARTIALLY_DELIVERED", "PARTIAL"
    b.deliver(partial, count=1)
    for order, why in (
        (stuck, "PENDING at the vendor for three days"),
        (reprocess, "queued for reprocess since yesterday morning"),
        (bulk, "bulk order (qty 60) never allocated"),
        (partial, "1 of 3 vouchers delivered two days ago"),
    ):
        b.expect_order("stuck_pending", why, order, starship_sub_status=order.sub_status)


# A plant: it places D's orders (and transactions) that carry one discrepancy, says in the
# answer key what recon must find, and returns the ledger rows the partner books for them
# (order, overrides) and the orders it planted, which the ordinary bookings leave alone.
Planted = tuple[list[tuple[Order, dict[str, str]]], set[str]]


def _delivered(b: _Builder, d: date, product: Product | None = None) -> Order:
    order = b.place(b.moment(d), product=product)
    b.deliver(order)
    return order


def _plant_missing_in_ledger(b: _Builder, d: date) -> Planted:
    """Charged at Starship, never booked; and one placed three minutes before the cut-off,
    which the next export will carry."""
    lost = _delivered(b, d, _USD)
    b.expect_order("missing_in_ledger", "delivered and charged; no ledger entry", lost)
    late_night = b.place(b.cut_off - timedelta(minutes=3), product=_USD)
    b.deliver(late_night)
    b.late_night = late_night
    b.expect_order(
        "missing_in_ledger",
        "placed 3 minutes before the cut-off; expected on the next export",
        late_night,
        state="expected",
    )
    return [], {lost.order_id, late_night.order_id}


def _plant_amount_mismatch(b: _Builder, d: date) -> Planted:
    """0.05 too much in USD; one minor unit (0.001) short in KWD."""
    entries = []
    for product, delta in ((_USD, Decimal("0.05")), (_KWD, Decimal("-0.001"))):
        order = _delivered(b, d, product)
        booked = order.total_amount + delta
        entries.append((order, {"amount": format_amount(booked, order.currency)}))
        b.expect_order(
            "amount_mismatch",
            f"ledger off by {delta} {order.currency}",
            order,
            status=False,
            ledger_amount=format_amount(booked, order.currency),
            delta=format_amount(booked - order.total_amount, order.currency),
        )
    return entries, {order.order_id for order, _ in entries}


def _plant_currency_mismatch(b: _Builder, d: date) -> Planted:
    """Booked in EUR, charged in USD."""
    order = _delivered(b, d, _USD)
    b.expect_order(
        "currency_mismatch",
        "charged in USD, booked in EUR",
        order,
        status=False,
        ledger_amount=format_amount(order.total_amount, "USD"),
    )
    return [(order, {"currency": "EUR"})], {order.order_id}


def _plant_status_mismatch(b: _Builder, d: date) -> Planted:
    """Delivered in the morning, cancelled and refunded in the afternoon; the partner missed
    the order.cancelled webhook and still books it delivered."""
    recalled = b.place(b.moment(d, time(2), time(6)), product=_USD)
    b.deliver(recalled)
    b.cancel(recalled, b.moment(d, time(14), time(18)))
    b.expect_order(
        "status_mismatch",
        "Starship cancelled and refunded it; ledger says delivered",
        recalled,
        amount=False,
        starship_sub_status="REFUNDED",
        ledger_status="DELIVERED",
    )
    return [(recalled, {"status": "delivered"})], {recalled.order_id}


def _plant_duplicate_order(b: _Builder, d: date) -> Planted:
    """A timed-out POST retried with a fresh Idempotency-Key: two orders for one reference,
    both charged. The ledger booked the order whose response arrived."""
    first = _delivered(b, d, _USD)
    retry = b.place(
        first.created_at + timedelta(seconds=31),
        product=_USD,
        quantity=first.quantity,
        reference=first.client_reference,
        denomination=first.denomination,
    )
    b.deliver(retry)
    b.expect_order(
        "duplicate_order",
        "retry without the original Idempotency-Key charged twice",
        first,
        status=False,
    )
    return [(retry, {})], {first.order_id, retry.order_id}


def _plant_wallet_mismatch(b: _Builder, d: date) -> Planted:
    """Cancelled, but the refund never came (NOT_REFUNDED): the ledger agrees it is cancelled,
    only the wallet shows the money is still owed. And a debit for an order Starship does not
    list."""
    unrefunded = _delivered(b, d, PRODUCTS_BY_ID["starbucks-eur"])
    cancelled_at = min(unrefunded.created_at + timedelta(hours=2), b.day_end - timedelta(minutes=1))
    b.cancel(unrefunded, cancelled_at, refunded=False)
    b.expect_order(
        "wallet_mismatch",
        "cancelled NOT_REFUNDED: the debit was never credited back",
        unrefunded,
        starship_sub_status="NOT_REFUNDED",
    )
    ghost = Transaction(
        b.new_id("txn"),
        "ORDER_DEBIT",
        b.new_id("ord"),
        Decimal("-25.00"),
        "USD",
        b.moment(d),
        description="Order (no such order)",
    )
    b.transactions.append(ghost)
    b.expect(
        "wallet_mismatch",
        "a debit for an order that does not exist",
        transaction_id=ghost.transaction_id,
        order_id=ghost.order_id,
        currency="USD",
        starship_amount="-25.00",
    )
    return [(unrefunded, {})], {unrefunded.order_id}


def _plant_unknown_status(b: _Builder, d: date) -> Planted:
    """A sub-status the documented table does not list; and a transaction type."""
    novel = _delivered(b, d, PRODUCTS_BY_ID["apple-jpy"])
    novel.sub_status = UNKNOWN_SUB_STATUS
    b.expect_order(
        "unknown_status",
        f"sub-status {UNKNOWN_SUB_STATUS} is not in the documented table",
        novel,
        amount=False,
        starship_sub_status=UNKNOWN_SUB_STATUS,
    )
    fx = Transaction(
        b.new_id("txn"),
        UNKNOWN_TRANSACTION_TYPE,
        None,
        Decimal("0.37"),
        "EUR",
        b.moment(d),
        description="FX rounding",
    )
    b.transactions.append(fx)
    b.expect(
        "unknown_status",
        f"transaction type {UNKNOWN_TRANSACTION_TYPE} is not known",
        transaction_id=fx.transaction_id,
        currency="EUR",
        starship_amount="0.37",
    )
    return [(novel, {})], {novel.order_id}


def _plant_evening_pending(b: _Builder, d: date) -> Planted:
    """A PENDING placed this evening: 4 hours old at the cut-off, booked pending. Clean."""
    evening = b.place(datetime.combine(d, time(20), tzinfo=UTC), product=_KWD)
    evening.path = "pending"
    b.park(evening)
    return [(evening, {})], {evening.order_id}


def _plant_discount_drift(b: _Builder, d: date) -> Planted:
    """A Zalando order after noon, when Starship's CPD for it changed (the ledger books what
    was charged, so only the discount sheet tells). Every other Zalando order of D after noon
    drifts too; generate() lists them all in the answer key."""
    repriced = b.place(b.moment(d, time(12, 30), time(20)), product=PRODUCTS_BY_ID["zalando-eur"])
    b.deliver(repriced)
    return [(repriced, {})], {repriced.order_id}


# In this order: each draws from the scenario's random source, so the order is the scenario's.
LEDGER_PLANTS = (
    _plant_missing_in_ledger,
    _plant_amount_mismatch,
    _plant_currency_mismatch,
    _plant_status_mismatch,
    _plant_duplicate_order,
    _plant_wallet_mismatch,
    _plant_unknown_status,
    _plant_evening_pending,
    _plant_discount_drift,
)


def _plant_ledger_side(b: _Builder, d: date) -> list[tuple[Order, dict[str, str]]]:
    """D's orders as the partner booked them, with a planted discrepancy of each kind.

    Returns (order, overrides) pairs in booking order; an override changes what the ledger row
    says (amount, currency, status, order id) or drops the row.
    """
    day_clean = [
        o
        for o in b.orders
        if b.day_start <= o.created_at < b.day_end
        and o.path in ("instant", "gv_link", "reconciled")
    ]
    entries: list[tuple[Order, dict[str, str]]] = []
    planted: set[str] = set()
    for plant in LEDGER_PLANTS:
        booked, orders = plant(b, d)
        entries += booked
        planted |= orders

    # Earlier orders Starship cancelled on D: the partner reverses each sale on D's export
    # (amount negated), except the one it missed.
    entries.extend(
        (o, {"reversal": "yes"})
        for o in b.orders
        if o.cancelled_at
        and b.day_start <= o.cancelled_at < b.day_end
        and o.created_at < b.day_start
        and o.order_id not in b.unreversed
    )

    # missing_at_starship: the partner booked an order Starship never created.
    phantom = Order(
        b.new_id("ord"),
        _USD.product_id,
        Decimal("50.00"),
        1,
        "USD",
        "DELIVERED",
        "COMPLETED",
        "cache",
        b.new_reference(b.moment(d, latest=b.unclaimed_latest)),
        "",
        b.moment(d, latest=b.unclaimed_latest),
        b.moment(d, latest=b.unclaimed_latest),
    )
    entries.append((phantom, {"phantom": "yes"}))

    # Every other order of D is booked as it is; one twice, one without the order id (the
    # partner booked before the response came back; it must match on the reference).
    ordinary = [
        o for o in b.orders if b.day_start <= o.created_at < b.day_end and o.order_id not in planted
    ]
    entries.extend((order, {}) for order in ordinary)
    twice, no_id = b.rng.sample([o for o in day_clean if o.order_id not in planted], 2)
    entries.append((twice, {"again": "yes"}))
    no_id_index = next(i for i, (o, _) in enumerate(entries) if o is no_id)
    entries[no_id_index] = (no_id, {"order_id": ""})
    entries.sort(key=lambda pair: (_booked(*pair), "again" in pair[1], pair[0].order_id))
    for order in (*(o for o in b.orders if o.order_id in planted), twice, no_id):
        order.planted = True
    return entries


def _chain_transactions(b: _Builder) -> tuple[list[Transaction], Transaction]:
    """Opening top-ups, one mid-week top-up on D, and a running balance per wallet.

    Returns the full chain and the top-up that the sandbox will not serve (the balance gap).
    """
    week_start = b.day_start - timedelta(days=WEEK_DAYS)
    openings = {**OPENING_BALANCES, RUNWAY_CURRENCY: str(_just_enough(b, RUNWAY_CURRENCY))}
    for currency, opening in sorted(openings.items()):
        b.transactions.append(
            Transaction(
                b.new_id("txn"),
                "TOPUP",
                None,
                Decimal(opening),
                currency,
                week_start,
                description="Opening balance",
            )
        )
    gap = Transaction(
        b.new_id("txn"),
        "TOPUP",
        None,
        Decimal("5000.00"),
        "USD",
        b.moment(b.date, time(9), time(10)),
        description="Wallet top-up",
    )
    b.transactions.append(gap)
    chain = sorted(b.transactions, key=lambda t: (t.created_at, t.transaction_id))
    balances: dict[str, Decimal] = {}
    for txn in chain:
        balances[txn.currency] = balances.get(txn.currency, Decimal(0)) + txn.amount
        txn.balance_after = balances[txn.currency]
    return chain, gap


def _just_enough(b: _Builder, currency: str) -> Decimal:
    """An opening balance that leaves `currency`'s wallet a day and a quarter's spend at the end
    of D, or as little more as keeps it from going negative on the way (when refunds come back
    after its low point)."""
    running, lowest = Decimal(0), Decimal(0)
    for txn in sorted(
        (t for t in b.transactions if t.currency == currency),
        key=lambda t: (t.created_at, t.transaction_id),
    ):
        running += txn.amount
        lowest = min(lowest, running)
    cushion = (-running * 5 / WEEK_DAYS / 4).quantize(quantum(currency), rounding=ROUND_HALF_UP)
    return max(cushion - running, -lowest)


def _expect_short_runways(b: _Builder, chain: list[Transaction]) -> None:
    """wallet_runway for each wallet whose balance at the end of D lasts fewer than
    RUNWAY_DAYS at the window's rate of net spend (what left for orders or otherwise, less
    refunds; top-ups are no spend), worked here apart from recon's SQL."""
    window_start = b.day_end - timedelta(days=RUNWAY_WINDOW_DAYS)
    for currency in sorted({t.currency for t in chain}):
        moved = [t for t in chain if t.currency == currency and t.created_at < b.day_end]
        spent = -sum(
            (
                t.amount
                for t in moved
                if t.created_at >= window_start and (t.order_id is not None or t.amount < 0)
            ),
            Decimal(0),
        )
        first = max(min(t.created_at for t in moved), window_start).date()
        rate_days = (b.day_end.date() - first).days
        balance = max(moved, key=lambda t: (t.created_at, t.transaction_id)).balance_after
        assert balance is not None
        if spent <= 0 or balance * rate_days >= RUNWAY_DAYS * spent:
            continue
        daily = (spent / rate_days).quantize(quantum(currency), rounding=ROUND_HALF_UP)
        b.expect(
            "wallet_runway",
            f"a balance of {balance} lasts {balance * rate_days / spent:.1f} days at "
            f"{daily} a day: inside the {RUNWAY_DAYS}-day notice",
            currency=currency,
            starship_amount=format_amount(balance, currency),
            delta=format_amount(balance - RUNWAY_DAYS * daily, currency),
        )


def _plant_balance_gap(b: _Builder, chain: list[Transaction], gap: Transaction) -> None:
    index = chain.index(gap)
    after = next(t for t in chain[index + 1 :] if t.currency == gap.currency)
    chain.remove(gap)
    b.expect(
        "balance_gap",
        "a USD top-up of 5000.00 is missing from the transaction list: the "
        "running balance does not chain",
        transaction_id=after.transaction_id,
        currency=gap.currency,
        delta=format_amount(gap.amount, gap.currency),
    )


def _wallet_balances(transactions: list[Transaction]) -> dict[str, Decimal]:
    balances: dict[str, Decimal] = {}
    for txn in transactions:
        balances[txn.currency] = balances.get(txn.currency, Decimal(0)) + txn.amount
    return dict(sorted(balances.items()))


def _plant_low_balance(b: _Builder, wallets: dict[str, Decimal]) -> None:
    for currency, floor in LOW_WALLET_FLOORS.items():
        if wallets[currency] < Decimal(floor):
            b.expect(
                "low_wallet_balance",
                f"balance below the configured floor {floor}",
                currency=currency,
                starship_amount=format_amount(wallets[currency], currency),
            )


def vouchers_allocated(orders: list[Order]) -> int:
    """The reconciliation summary's `vouchers_allocated` for `orders`. Assumed (the docs do
    not say): the vouchers delivered and still standing, which is what recon can count in
    the lake."""
    return sum(1 for o in orders for i in o.items if i.status == "DELIVERED")


def _reconciliation(b: _Builder, d: date) -> dict[str, Any]:
    """The planned /reconciliation/{date} answer (docs/starship-api.md), with one drifted
    allocation."""
    day_orders = [o for o in b.orders if b.day_start <= o.created_at < b.day_end]
    delivered = [o for o in day_orders if o.status == "DELIVERED" and o.items and not o.planted]
    vouchers = vouchers_allocated(day_orders)
    drifted = sorted(delivered, key=lambda o: o.order_id)[0]
    b.expect(
        "starship_reported_drift",
        "Starship's own reconciliation flags this allocation "
        "(only when the sandbox serves /reconciliation)",
        state="new",
        order_id=drifted.order_id,
        reference=drifted.client_reference,
        currency=drifted.currency,
        requires="reconciliation",
    )
    return {
        "date": d.isoformat(),
        "summary": {
            "orders_total": len(day_orders),
            "vouchers_allocated": vouchers,
            "matched": vouchers - 1,
            "drifted": 1,
            "unmatched": 0,
        },
        "drifts": [
            {
                "order_id": drifted.order_id,
                "vendor": PRODUCTS_BY_ID[drifted.product_id].vendor,
                "product_id": drifted.product_id,
                "our_allocation": drifted.items[0].voucher_code,
                "vendor_record": b.voucher_code(),
                "detected_at": iso(drifted.created_at + timedelta(hours=1)),
                "resolution": "pending",
            }
        ],
        "generated_at": iso(b.snapshot_at),
    }


def _clean_but_tricky(
    b: _Builder, rows: list[dict[str, str]], where: dict[str, tuple[date, int]]
) -> list[dict[str, str]]:
    """Rows and orders that look odd but must not be flagged: precision, not only recall."""
    cols = LEDGER_COLUMNS
    tricky: list[dict[str, str]] = []
    for order in b.orders:
        if order.path == "late_cancellation":
            tricky.append(
                {
                    "order_id": order.order_id,
                    "why": "delivered two days before D and booked then, cancelled and "
                    "refunded on D, reversed on D's export: the reversal nets the sale",
                }
            )
        elif order.path == "partial_delivery":
            tricky.append(
                {
                    "order_id": order.order_id,
                    "why": "three vouchers, two delivered, then cancelled with the third "
                    "refunded; D's export books the sale and the refund of the third: a "
                    "partial reversal",
                }
            )
        elif order.path == "pending" and b.day_start <= order.created_at < b.day_end:
            tricky.append(
                {
                    "order_id": order.order_id,
                    "why": "PENDING, but younger than "
                    f"{STUCK_PENDING_HOURS} h at the end of D; booked pending",
                }
            )
    # a partial delivery's refund has its sale on D's export too: said of the order above
    partial = {o.order_id for o in b.orders if o.path == "partial_delivery"}
    for row in rows:
        line = where[row[cols["entry_id"]]][1]
        if row[LEDGER_MEMO_COLUMN].startswith("Reversal ") and row[cols["order_id"]] not in partial:
            tricky.append(
                {
                    "ledger_entry_id": row[cols["entry_id"]],
                    "line": str(line),
                    "why": "a reversal of a sale booked on an earlier export: matched, "
                    "not a duplicate",
                }
            )
        if not row[cols["order_id"]] and row[cols["reference"]].startswith("po-"):
            tricky.append(
                {
                    "ledger_entry_id": row[cols["entry_id"]],
                    "line": str(line),
                    "why": "no Starship order id: matches on the reference",
                }
            )
    return tricky


# -- the partner's ledger export ----------------------------------------------------------------


def _ledger_amount(amount: Decimal, currency: str) -> str:
    """As a finance system exports it: thousands separators on large amounts."""
    return f"{amount:,.{minor_unit(currency)}f}"


def _ledger_status(order: Order, at: datetime) -> str:
    """The export's status word for `order` as the partner saw it at `at` (the export's cut-off)."""
    if order.cancelled_at is not None and order.cancelled_at < at:
        return "refunded" if order.sub_status == "REFUNDED" else "cancelled"
    if order.cancelled_at is not None:  # cancelled later: delivered, or still waiting, then
        return "delivered" if order.items else "pending"
    if order.status in ("PENDING", "PLACED") or order.updated_at >= at:
        return "pending"
    return "delivered"


def _booked(order: Order, change: dict[str, str]) -> datetime:
    """When the partner's system books a row: a reversal after the cancellation, a sale after
    the order (seconds later: the two clocks differ)."""
    if change.get("reversal"):
        assert order.cancelled_at is not None
        return order.cancelled_at
    return order.created_at


def _booked_amount(order: Order, change: dict[str, str]) -> Decimal:
    """What a row books: a reversal the sale negated, a sale its charge (or the plant's)."""
    if change.get("reversal"):  # of a partial delivery: the refund of the rest
        return order.kept_amount - order.total_amount
    return Decimal(change["amount"]) if "amount" in change else order.total_amount


def _booking_row(
    b: _Builder, order: Order, change: dict[str, str], entry_id: str, cut_off: datetime
) -> dict[str, str]:
    """One row of an export: a sale (with the plant's `change`), or a reversal of one."""
    cols = LEDGER_COLUMNS
    booked = _booked(order, change) + timedelta(seconds=b.rng.randrange(1, 90))
    name = f"{PRODUCTS_BY_ID[order.product_id].name} x{order.quantity}"
    return {
        cols["entry_id"]: entry_id,
        cols["order_id"]: change.get("order_id", order.order_id),
        cols["reference"]: order.client_reference,
        cols["amount"]: _ledger_amount(_booked_amount(order, change), order.currency),
        cols["currency"]: change.get("currency", order.currency),
        cols["status"]: change.get("status", _ledger_status(order, cut_off)),
        cols["booked_at"]: _local(b, booked),
        LEDGER_MEMO_COLUMN: f"Reversal {name}" if change.get("reversal") else name,
    }


def _earlier_exports(b: _Builder, d: date) -> dict[date, list[dict[str, str]]]:
    """The exports of the days before D, as a careful partner writes them: each day's orders
    in their state at the day's end, and a reversal of each earlier sale cancelled that day
    (but the ones in `b.unreversed`). Clean: every break of the scenario is planted on D."""
    exports = {}
    for back in range(WEEK_DAYS - 1, 0, -1):
        day = d - timedelta(days=back)
        start = datetime.combine(day, time(), tzinfo=UTC)
        end = start + timedelta(days=1)
        entries: list[tuple[Order, dict[str, str]]] = [
            (o, {}) for o in b.orders if start <= o.created_at < end
        ]
        entries += [
            (o, {"reversal": "yes"})
            for o in b.orders
            if o.cancelled_at
            and start <= o.cancelled_at < end
            and o.created_at < start
            and o.order_id not in b.unreversed
        ]
        entries.sort(key=lambda pair: (_booked(*pair), pair[0].order_id))
        rows = []
        for order, change in entries:
            b.entry_number += b.rng.randrange(1, 4)
            rows.append(_booking_row(b, order, change, f"LE-{b.entry_number}", end))
        exports[day] = rows
    return exports


def _ledger_rows(
    b: _Builder, entries: list[tuple[Order, dict[str, str]]]
) -> tuple[list[dict[str, str]], list[dict[str, Any]]]:
    rows: list[dict[str, str]] = []
    entry_number = 4000
    cols = LEDGER_COLUMNS
    for order, change in entries:
        entry_number += b.rng.randrange(1, 4)
        entry_id = f"LE-{entry_number}"
        rows.append(_booking_row(b, order, change, entry_id, b.day_end))
        amount = _booked_amount(order, change)
        if change.get("phantom"):
            b.expect(
                "missing_at_starship",
                "booked, but Starship has no such order",
                ledger_entry_id=entry_id,
                order_id=order.order_id,
                reference=order.client_reference,
                currency=order.currency,
                ledger_amount=format_amount(amount, order.currency),
            )
        if change.get("again"):
            b.expect(
                "duplicate_ledger_entry",
                "the same order booked a second time",
                ledger_entry_id=entry_id,
                order_id=order.order_id,
                reference=order.client_reference,
                currency=order.currency,
                ledger_amount=format_amount(amount, order.currency),
            )

    # Dirty rows a finance export really has; each must be quarantined with its reason.
    dirty = [
        ({"amount": ""}, "blank amount"),
        ({"currency": "USX"}, "unknown currency"),
        ({"booked_at": "2026-04-31 25:61:00"}, "unparsable timestamp"),
        ({"entry_id": ""}, "missing entry id"),
        ({"amount": "1,500.5", "currency": "JPY"}, "more decimals than the currency allows"),
    ]
    quarantine: list[dict[str, Any]] = []
    for change, reason in dirty:
        template = b.rng.choice(rows)
        while template[LEDGER_MEMO_COLUMN] == "manual adjustment":  # a clean row, not a dirty
            template = b.rng.choice(rows)
        template = dict(template)
        entry_number += 1
        template[cols["entry_id"]] = f"LE-{entry_number}"
        template[cols["order_id"]] = b.new_id("ord")
        template[cols["reference"]] = f"manual-{entry_number}"
        template[LEDGER_MEMO_COLUMN] = "manual adjustment"
        if b.cut.zone:  # booked before the cut-off, so night D judges it
            template[cols["booked_at"]] = _local(b, b.moment(b.date, latest=b.unclaimed_latest))
        for key, value in change.items():
            template[cols[key]] = value
        position = b.rng.randrange(len(rows) + 1)
        rows.insert(position, template)
        quarantine.append({"entry_id": template[cols["entry_id"]], "reason": reason})
    return rows, quarantine


def _cut_settings(cut: Cut) -> dict[str, Any]:
    if not cut.zone:
        return {
            "ledger_day": (
                "the export for D holds the orders created on D in UTC; Booked At is the "
                "partner's local time and may fall on the next local day"
            ),
        }
    return {
        "business_day_timezone": cut.zone,
        "weekend_exports": cut.weekends,
        "ledger_day": (
            f"each row sits on the export of its business day in {cut.zone} (Booked At's "
            "date), a weekend's on Monday's when there are no weekend exports; rows no order "
            "claims sit on the export whose business day closes on D, so night D judges them"
        ),
    }


def _local(b: _Builder, moment: datetime) -> str:
    """A Booked At: the partner's clock, without an offset."""
    return moment.astimezone(b.cut.clock).strftime("%Y-%m-%d %H:%M:%S")


def _cut_exports(
    b: _Builder, earlier: dict[date, list[dict[str, str]]], rows: list[dict[str, str]]
) -> dict[date, list[dict[str, str]]]:
    """The exports as the partner writes them: cut at UTC midnight (the week's exports as they
    are, D's rows the export of D), or each row on the export of its own business day. A row
    whose Booked At cannot be read sits on the export of the business day that closes at
    the cut-off, with the other rows no order claims."""
    if not b.cut.zone:
        return {**earlier, b.date: rows}
    closing = (b.cut_off - timedelta(seconds=1)).astimezone(b.cut.clock).date()
    exports: dict[date, list[dict[str, str]]] = {}
    for row in (*(r for day_rows in earlier.values() for r in day_rows), *rows):
        try:
            day = date.fromisoformat(row[LEDGER_COLUMNS["booked_at"]][:10])
        except ValueError:
            day = closing
        exports.setdefault(b.cut.export_of(day), []).append(row)
    return dict(sorted(exports.items()))


def _settle_late_night(b: _Builder, exports: dict[date, list[dict[str, str]]]) -> None:
    """The order placed just before the cut-off is expected on the next export; when that
    export is here already and does not book it either (a zone whose next business day's
    export is written by the night D runs), it is missing."""
    assert b.late_night is not None
    business_day = b.late_night.created_at.astimezone(b.cut.business_zone).date()
    if max(exports) > b.cut.export_of(business_day):
        finding = next(f for f in b.findings if f.get("order_id") == b.late_night.order_id)
        finding["state"] = "new"
        finding["note"] = (
            "placed 3 minutes before its business day's close; the next export is here and "
            "does not book it either"
        )


def _locate(
    b: _Builder, exports: dict[date, list[dict[str, str]]], quarantine: list[dict[str, Any]]
) -> dict[str, tuple[date, int]]:
    """Where each entry sits (export, line; the header is line 1), written into the findings
    and the quarantine. Of two sales of one order, the later is the duplicate."""
    cols = LEDGER_COLUMNS
    where = {
        row[cols["entry_id"]]: (day, line)
        for day, rows in exports.items()
        for line, row in enumerate(rows, start=2)
    }
    sales: dict[str, list[tuple[date, int, str]]] = {}
    for entry_id, (day, line) in where.items():
        row = exports[day][line - 2]
        if not row[LEDGER_MEMO_COLUMN].startswith("Reversal "):
            sales.setdefault(row[cols["order_id"]], []).append((day, line, entry_id))
    for finding in b.findings:
        if finding["check"] == "duplicate_ledger_entry" and finding.get("order_id") in sales:
            finding["ledger_entry_id"] = max(sales[finding["order_id"]])[2]
        if "ledger_entry_id" in finding:
            finding["line"] = where[finding["ledger_entry_id"]][1]
    for item in quarantine:
        item["line"] = where[item["entry_id"]][1]
    quarantine.sort(key=lambda q: q["line"])
    return where
