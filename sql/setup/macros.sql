-- Small helpers shared by the ingest and the checks.

-- An amount as text with exactly its currency's decimals ('5.00', '2000', '19.999'). Amounts are
-- DECIMAL(18, 4) and were validated to the currency on the way in, so cutting the trailing
-- zeros never drops a digit that matters.
CREATE OR REPLACE MACRO money(amount, ccy) AS (
    SELECT CASE
        WHEN c.exponent = 0 THEN split_part(CAST(amount AS VARCHAR), '.', 1)
        ELSE left(CAST(amount AS VARCHAR), strpos(CAST(amount AS VARCHAR), '.') + c.exponent)
    END
    FROM currencies AS c
    WHERE c.code = ccy
);

-- A field as it would be written in a CSV line (quoted when it must be).
CREATE OR REPLACE MACRO csv_field(x) AS CASE
    WHEN x IS NULL THEN ''
    WHEN regexp_matches(x, '[",\r\n]') THEN '"' || replace(x, '"', '""') || '"'
    ELSE x
END;

-- A DECIMAL column's value as text without the zeros its scale adds: a decimal(18, 3) column of
-- a Parquet export holds USD 34.70 as 34.700, which is still two decimals of money, not three.
CREATE OR REPLACE MACRO decimal_text(x) AS CASE
    WHEN contains(CAST(x AS VARCHAR), '.') THEN rtrim(rtrim(CAST(x AS VARCHAR), '0'), '.')
    ELSE CAST(x AS VARCHAR)
END;

-- Whether an amount's currency marker (a code or a symbol, '' for none) can be currency `code`'s:
-- a code is its own currency, a symbol every currency the variable `ledger_symbols` lists for it.
CREATE OR REPLACE MACRO marker_agrees(marker, code) AS (
    marker = ''
    OR list_contains(coalesce(getvariable('ledger_symbols')[marker], [upper(marker)]), code)
);

-- Whether an amount's text is a zero (0, 0.00, 0,00, -0, (0.00), $0.00, 0,00 EUR): the side
-- of a debit/credit export a movement is not on, which accounting systems often fill so.
CREATE OR REPLACE MACRO zero_amount(x) AS regexp_full_match(
    x,
    '[\s\x{a0}\x{202f}]*\(?-?[\s\x{a0}\x{202f}]*(?:[A-Za-z]{3}|[$€£¥₩₹])?[\s\x{a0}\x{202f}]*'
    || '-?0+(?:[.,]0+)?[\s\x{a0}\x{202f}]*(?:[A-Za-z]{3}|[$€£¥₩₹])?[\s\x{a0}\x{202f}]*\)?'
    || '[\s\x{a0}\x{202f}]*'
);

-- A timestamp's text, read with the strptime `patterns` ([ledger] date_format), as ISO 8601
-- text (NULL if no pattern reads it). An offset, Z, UTC or GMT after the time is split off
-- first and kept, so that the ingest reads zones alike whatever the date's shape.
CREATE OR REPLACE MACRO iso_timestamp(stamp, patterns) AS CASE
    WHEN regexp_matches(
        stamp,
        '^.*(?:\d:\d\d(?::\d\d(?:[.,]\d+)?)?|[AaPp][Mm])\s*(?:Z|UTC|GMT|[+-]\d\d(?::?\d\d)?)$'
    )
        THEN strftime(
            try_strptime(
                regexp_extract(
                    stamp,
                    '^(.*(?:\d:\d\d(?::\d\d(?:[.,]\d+)?)?|[AaPp][Mm]))\s*'
                    || '(?:Z|UTC|GMT|[+-]\d\d(?::?\d\d)?)$',
                    1
                ),
                patterns
            ),
            '%Y-%m-%d %H:%M:%S.%f'
        ) || regexp_extract(stamp, '(Z|UTC|GMT|[+-]\d\d(?::?\d\d)?)$', 1)
    ELSE strftime(try_strptime(stamp, patterns), '%Y-%m-%d %H:%M:%S.%f')
END;

-- A naive local time in `zone` as naive UTC. The common zone, UTC, skips the conversion, which
-- costs a tenth of a second per million rows.
CREATE OR REPLACE MACRO local_to_utc(ts, zone) AS CASE
    WHEN zone = 'UTC' THEN ts
    ELSE timezone('UTC', timezone(zone, ts))
END;

-- Whether a naive local time exists in `zone`: one inside a DST gap (02:30 on the night the
-- clocks go from 02:00 to 03:00) comes back from UTC as another time. NULL (no local time) exists.
CREATE OR REPLACE MACRO local_exists(ts, zone) AS (
    ts IS NULL OR zone = 'UTC' OR timezone(zone, timezone(zone, ts)) = ts
);

-- An amount rounded half-up (away from zero) to `exponent` decimals, the currency's minor unit:
-- DuckDB's round() wants a constant number of decimals, and ISO 4217 has only these. Each
-- branch is cast alike, or the CASE takes the first branch's scale (no decimals) for all.
CREATE OR REPLACE MACRO to_minor_unit(amount, exponent) AS CASE exponent
    WHEN 0 THEN CAST(round(amount, 0) AS DECIMAL(18, 4))
    WHEN 1 THEN CAST(round(amount, 1) AS DECIMAL(18, 4))
    WHEN 2 THEN CAST(round(amount, 2) AS DECIMAL(18, 4))
    WHEN 3 THEN CAST(round(amount, 3) AS DECIMAL(18, 4))
    ELSE CAST(round(amount, 4) AS DECIMAL(18, 4))
END;

-- Whether a discount-sheet row applies to an order placed at `moment`: a blank `valid_from` has
-- applied since always. discount_drift prices by it and unknown_status reports a product none
-- of whose rows applies, so the two checks never disagree on what the sheet covers.
CREATE OR REPLACE MACRO in_force(valid_from, moment) AS (
    valid_from IS NULL OR valid_from <= CAST(moment AS DATE)
);

-- What Starship keeps of a cancelled order's total for the items it delivered before the
-- cancellation (a partial delivery that converges to CANCELLED refunds the remaining items):
-- total x delivered / quantity, rounded half-up to the currency's minor unit; the refund is the
-- rest of the total. Worked in whole minor units with integer division, because DuckDB divides
-- decimals as DOUBLE. Reads the variable `ledger_exponents` (recon/ledger.py).
CREATE OR REPLACE MACRO delivered_share(total, delivered, quantity, ccy) AS CASE
    WHEN quantity IS NULL OR quantity < 1 OR delivered >= quantity THEN total
    ELSE CAST(
        CAST(
            (
                CAST(total * CAST(10 ** getvariable('ledger_exponents')[ccy] AS INTEGER)
                    AS HUGEINT) * delivered * 2 + quantity
            ) // (2 * quantity)
            AS DECIMAL(18, 0)
        ) * CASE getvariable('ledger_exponents')[ccy]
            WHEN 0 THEN 1 WHEN 1 THEN 0.1 WHEN 2 THEN 0.01 WHEN 3 THEN 0.001 ELSE 0.0001
        END
        AS DECIMAL(18, 4)
    )
END;

-- What Starship keeps of an order once it is cancelled: the delivered items' share after a
-- partial delivery, else nothing (0). For an order not cancelled, 0 too: it is not refunded.
CREATE OR REPLACE MACRO cancelled_keeps(status, total, delivered, quantity, ccy) AS CASE
    WHEN status = 'CANCELLED' AND delivered > 0
        THEN delivered_share(total, delivered, quantity, ccy)
    ELSE 0
END;

-- status_mismatch's words for a partial refund the books do not book.
CREATE OR REPLACE MACRO refund_unbooked(total, kept, ccy) AS (
    'Starship cancelled it after a partial delivery, refunding ' || money(total - kept, ccy)
        || ' and keeping ' || money(kept, ccy) || ' for the items it delivered; the books do '
        || 'not book the refund of ' || money(total - kept, ccy)
);

-- The night that judges a ledger row whose own night is `night`: that night, unless it had
-- already run when the row's export was first read (`ran_before`: the export came late), then
-- the night that first read it (recon/memory.py).
CREATE OR REPLACE MACRO judging(night, first_read, ran_before) AS CASE
    WHEN list_contains(ran_before, night) THEN first_read ELSE night
END;
