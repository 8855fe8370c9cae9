-- The partner's ledger export, typed: one row per data row of the file, with `reason` set when
-- the row cannot be used (it goes to quarantine.csv) and NULL when it can.
--
-- Reads the view `ledger_text` (every mapped column as text, plus `line`) and the variables
-- `ledger_exponents` (a map: ISO 4217 code to exponent), `ledger_symbols` (a map: a currency
-- symbol to the codes that write it) and `ledger_status_words` (a map: the export's words,
-- lower case, to DELIVERED | CANCELLED | PENDING). Binds $timezone, the zone of
-- naive timestamps, the [ledger] settings $amount_unit and $purchase_sign, $export_day and
-- $controls (below).
--
-- Every step is a projection, row by row: no join, no aggregate, so the rows come out in the
-- order they went in (a CSV's line numbers are that order; see recon/ledger.py).
--
-- Amounts are never rounded: text with more decimals than the currency has is refused, so the
-- one rounding rule is "none" and Python's and DuckDB's rounding modes never meet. Accepted:
-- thousands separators (1,500.00), one currency symbol or code before or after the number
-- ($12.50, 12.50 USD, -$12.50), and accounting negatives ((12.50)). Anything else in the text
-- (a letter O for a zero, an exponent, a lone parenthesis) makes the amount unparsable. A code
-- or symbol must be the currency column's ($ is any dollar's or peso's, £ any pound's, ¥ the
-- yen's or the yuan's: the variable `ledger_symbols`): a EUR 24.13 in a row that says USD is
-- quarantined, not booked as 24.13 dollars.
--
-- $amount_unit: 'major' (default) reads 19.99 as 19.99 USD. 'minor' reads the amount as a whole
-- number of the currency's ISO 4217 minor unit: USD 1999 = 19.99, JPY 1999 = 1999, KWD 1999 =
-- 1.999, by multiplying with an exact decimal (never by dividing: DuckDB divides decimals as
-- DOUBLE). The same shapes are accepted (1,999, $1999, (1999)); a fraction of a minor unit
-- (1999.5, or a major-unit 19.99 in a minor-unit export) is quarantined, while zeros after the
-- point are not a fraction (1999.00, as a Parquet DECIMAL(18, 2) column holds 1999).
--
-- $purchase_sign: 'positive' (default) keeps the export's signs. 'negative' is an export that
-- books purchases as negative numbers and reversals as positive: every amount's sign is turned
-- round, so that downstream a purchase is positive and a reversal negative either way.
--
-- Timestamps: an explicit offset, Z, UTC or GMT after the time is honoured; naive text is local
-- time in $timezone; any other zone name is refused rather than guessed, and so is a local time
-- the clocks skip (02:30 on the night they go from 02:00 to 03:00), which has no moment. A local
-- time that happens twice (the night the clocks go back) is the later. The booking window: from
-- 2000-01-01 (UTC) to the end of the day a year after $export_day, the export's date; a moment
-- outside it is quarantined.
--
-- $controls: a regular expression of control characters (recon/ledger.py). One in any mapped
-- field quarantines the row, naming the field: the first rule, as nothing else in such a row can
-- be trusted.
WITH cleaned AS (
    SELECT
        *,
        nullif(trim(entry_id), '') AS entry_id_clean,
        nullif(trim(order_id), '') AS order_id_clean,
        nullif(trim(reference), '') AS reference_clean,
        upper(trim(currency)) AS currency_clean,
        nullif(trim(booked_at), '') AS booked_text,
        trim(coalesce(amount, '')) AS amount_text,
        -- most amounts are plain decimals: they skip the symbol and parenthesis handling
        regexp_full_match(trim(coalesce(amount, '')), '-?\d+(\.\d+)?') AS plain,
        -- one match per row; the reason finds the field only for the rare row that has one
        regexp_matches(
            concat(entry_id, order_id, reference, amount, currency, status, booked_at), $controls
        ) AS controlled
    FROM ledger_text
),
bracketed AS (
    SELECT *, NOT plain AND regexp_full_match(amount_text, '\(.*\)') AS accounting
    FROM cleaned
),
marked AS (
    SELECT
        *,
        CASE WHEN plain THEN '' ELSE regexp_extract(
            CASE WHEN accounting THEN amount_text[2:-2] ELSE amount_text END,
            '^-?\s*([A-Za-z]{3}|[$€£¥₩₹])', 1
        ) END AS leading_marker,
        CASE WHEN plain THEN amount_text ELSE regexp_replace(
            CASE WHEN accounting THEN amount_text[2:-2] ELSE amount_text END,
            '^(-?)\s*(?:[A-Za-z]{3}|[$€£¥₩₹])\s*', '\1'
        ) END AS unled
    FROM bracketed
),
unsymbolled AS (
    SELECT
        *,
        CASE WHEN plain THEN '' ELSE regexp_extract(unled, '([A-Za-z]{3}|[$€£¥₩₹])$', 1) END
            AS trailing_marker,
        CASE WHEN plain THEN amount_text
            ELSE regexp_replace(unled, '\s*(?:[A-Za-z]{3}|[$€£¥₩₹])$', '')
        END AS signed
    FROM marked
),
parsed AS (
    SELECT
        *,
        accounting OR signed LIKE '-%' AS negative,
        CASE WHEN signed LIKE '-%' THEN signed[2:] ELSE signed END AS digits,
        NOT (accounting AND signed LIKE '-%') AS one_sign
    FROM unsymbolled
),
typed AS (
    SELECT
        p.*,
        getvariable('ledger_exponents')[p.currency_clean] AS exponent,
        p.plain OR p.one_sign
            AND regexp_full_match(p.digits, '\d{1,3}(,\d{3})+(\.\d+)?|\d+(\.\d+)?|\.\d+')
            AS well_formed,
        CASE WHEN contains(p.digits, '.') THEN length(p.digits) - strpos(p.digits, '.') ELSE 0 END
            AS decimals,
        CASE
            -- a plain amount has no separator: its integer digits are all but its decimals
            WHEN p.plain THEN length(p.digits) - decimals - CASE WHEN decimals > 0 THEN 1 ELSE 0 END
            ELSE length(split_part(replace(p.digits, ',', ''), '.', 1))
        END AS integer_digits,
        -- the first currency marker of the amount's that is not the currency column's: a code
        -- is its own currency, a symbol every currency that writes it ($ a dollar's or a peso's)
        CASE
            WHEN NOT marker_agrees(p.leading_marker, p.currency_clean) THEN upper(p.leading_marker)
            WHEN NOT marker_agrees(p.trailing_marker, p.currency_clean)
                THEN upper(p.trailing_marker)
        END AS other_currency,
        getvariable('ledger_status_words')[lower(trim(p.status))] AS status_clean,
        CASE
            WHEN p.booked_text IS NULL THEN NULL
            -- most text ends in a digit with no offset before it (2026-04-14 10:00:00): no
            -- branch below but the last can take it, so it is read as naive at once
            WHEN NOT regexp_matches(p.booked_text, '(?:[+-]\d\d(?::?\d\d)?|\D)$') THEN 'local'
            WHEN regexp_matches(p.booked_text, '\d:\d\d(:\d\d(\.\d+)?)?\s*(Z|UTC|GMT)$')
                THEN 'utc'
            WHEN regexp_matches(p.booked_text, '\d:\d\d(:\d\d(\.\d+)?)?\s*[+-]\d\d(:?\d\d)?$')
                THEN 'offset'
            WHEN regexp_matches(p.booked_text, '[A-Za-z]{2,}$') THEN 'zone'
            ELSE 'local'
        END AS booked_form,
        CASE WHEN booked_form = 'local' THEN try_cast(p.booked_text AS TIMESTAMP) END
            AS booked_local
    FROM parsed AS p
),
stamped AS (
    SELECT
        *,
        CASE booked_form
            WHEN 'local' THEN local_to_utc(booked_local, $timezone)
            WHEN 'utc'
                THEN try_cast(regexp_replace(booked_text, '\s*(Z|UTC|GMT)$', '') AS TIMESTAMP)
            WHEN 'offset' THEN timezone('UTC', try_cast(booked_text AS TIMESTAMPTZ))
        END AS booked_utc
    FROM typed
),
judged AS (
    SELECT
        *,
        CASE
            -- a NUL, an escape, a C1 code: no export means them, and a reader that drops one
            -- reads 289\x00.50 as 289.50
            WHEN controlled THEN 'control character in ' || CASE
                WHEN regexp_matches(entry_id, $controls) THEN 'entry_id'
                WHEN regexp_matches(order_id, $controls) THEN 'order_id'
                WHEN regexp_matches(reference, $controls) THEN 'reference'
                WHEN regexp_matches(amount, $controls) THEN 'amount'
                WHEN regexp_matches(currency, $controls) THEN 'currency'
                WHEN regexp_matches(status, $controls) THEN 'status'
                ELSE 'booked_at'
            END
            WHEN entry_id_clean IS NULL THEN 'missing entry id'
            WHEN amount_text = '' THEN 'blank amount'
            WHEN NOT well_formed THEN 'unparsable amount'
            WHEN exponent IS NULL THEN 'unknown currency'
            WHEN other_currency IS NOT NULL
                THEN 'amount says ' || other_currency || ', currency column says ' || currency_clean
            WHEN $amount_unit = 'minor' AND rtrim(split_part(digits, '.', 2), '0') <> ''
                THEN 'a fraction in minor units'
            WHEN $amount_unit <> 'minor' AND decimals > exponent
                THEN 'more decimals than the currency allows'
            -- DECIMAL(18, 4) holds 14 integer digits of major units
            WHEN integer_digits > 14 + CASE WHEN $amount_unit = 'minor' THEN exponent ELSE 0 END
                THEN 'amount too large'
            WHEN booked_text IS NULL THEN 'missing timestamp'
            WHEN booked_utc IS NULL THEN 'unparsable timestamp'
            WHEN NOT local_exists(booked_local, $timezone)
                THEN 'booked at a local time that does not exist in ' || $timezone
                    || ' (clocks moved forward)'
            -- no gift card was sold before 2000, and no export books a sale a year ahead: a
            -- date that far off is a typo (9999-12-31 for "open") or a hostile file
            WHEN booked_utc < TIMESTAMP '2000-01-01' THEN 'booked before 2000'
            WHEN CAST(booked_utc AS DATE) > CAST($export_day AS DATE) + INTERVAL 1 YEAR
                THEN 'booked more than a year after the export'
            WHEN trim(coalesce(status, '')) = '' THEN 'missing status'
            WHEN status_clean IS NULL THEN 'unknown status word'
            WHEN order_id_clean IS NULL AND reference_clean IS NULL
                THEN 'neither a Starship order id nor a reference'
        END AS reason
    FROM stamped
)
SELECT
    line,
    entry_id_clean AS entry_id,
    order_id_clean AS order_id,
    reference_clean AS reference,
    CASE WHEN reason IS NULL
        -- the sign as written, turned round when purchases are booked negative
        THEN (CASE WHEN negative <> ($purchase_sign = 'negative') THEN -1 ELSE 1 END)
            * CASE WHEN $amount_unit = 'minor'
                -- ISO 4217 exponents run from 0 to 4, as DECIMAL(18, 4) allows
                THEN CAST(
                    try_cast(replace(digits, ',', '') AS DECIMAL(18, 0))
                    * CASE exponent
                        WHEN 0 THEN 1 WHEN 1 THEN 0.1 WHEN 2 THEN 0.01 WHEN 3 THEN 0.001
                        WHEN 4 THEN 0.0001
                    END
                    AS DECIMAL(18, 4)
                )
                ELSE try_cast(replace(digits, ',', '') AS DECIMAL(18, 4))
            END
    END AS amount,
    currency_clean AS currency,
    status_clean AS status,
    booked_utc AS booked_at,
    reason,
    -- the row as the export had it, for quarantine.csv; built only for the rows that go there
    CASE WHEN reason IS NOT NULL THEN
        csv_field(entry_id) || ',' || csv_field(order_id) || ',' || csv_field(reference) || ','
        || csv_field(amount) || ',' || csv_field(currency) || ',' || csv_field(status) || ','
        || csv_field(booked_at)
    END AS raw
FROM judged
