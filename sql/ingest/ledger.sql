-- The partner's ledger export, typed: one row per data row of the file, with `reason` set when
-- the row cannot be used (it goes to quarantine.csv) and NULL when it can.
--
-- Reads the view `ledger_text` (every mapped column as text, plus `line`) and the variables
-- `ledger_exponents` (a map: ISO 4217 code to exponent), `ledger_symbols` (a map: a currency
-- symbol to the codes that write it) and `ledger_status_words` (a map: the export's words,
-- lower case, to DELIVERED | CANCELLED | PENDING). Binds $timezone, the zone of
-- naive timestamps, the [ledger] settings $amount_unit, $purchase_sign, $decimal_separator and
-- $date_format (with $date_patterns, its strptime patterns), $sided (a debit/credit export),
-- $export_day and $controls (below).
--
-- `ledger_text` has amount, debit and credit (the unmapped ones NULL), and for each of them and
-- booked_at a flag `<field>_native`: the text is that of a value already typed (a number cell,
-- a JSON number, a Parquet decimal or timestamp), written by recon as 1289.5 or 2026-04-14
-- 10:00:00, so neither $decimal_separator nor $date_format applies to it.
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
-- $decimal_separator ',': text amounts are written 1.289,50 (the groups of thousands by '.',
-- a space, U+00A0, U+202F or an apostrophe, one kind in an amount, always in threes) and
-- 289,50; a decimal point (12.50) or a group not of three (1.28,50) is an unparsable amount,
-- never read the other way. '.' (default): 1,289.50 as before.
--
-- $sided: a debit/credit export. Its signed amount is debit minus credit, as an accountant
-- signs them, and $purchase_sign then applies to it as to any signed amount: 'positive'
-- (default) reads a purchase on the debit side and a reversal on the credit side. Exactly one
-- side must be filled: a blank cell and a zero (0, 0.00, 0,00) are not filled, as accounting
-- systems write 0.00 on the side a movement is not on; a row with both sides or neither is
-- quarantined. The filled side's text is then read as an amount column's would be.
--
-- $date_format: 'iso' (default) reads timestamps with DuckDB's own cast (ISO 8601). Otherwise
-- text is read with $date_patterns (day-first: 14.04.2026 04:30:05, 14/04/2026, 14-04-2026;
-- month-first: 04/14/2026 4:30:05 PM; or the one strftime pattern configured), only these: a
-- date that reads both ways (04/05/2026) follows the configured order, and one that matches no
-- pattern is an unparsable timestamp. An offset, Z, UTC or GMT after the time is split off
-- first and the rest rewritten as ISO text, so the zones below are read alike in every format.
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
WITH sided AS (
    SELECT
        *,
        -- a debit/credit export's filled side: not blank, not zero
        $sided AND trim(coalesce(debit, '')) <> '' AND NOT zero_amount(debit) AS debit_filled,
        $sided AND trim(coalesce(credit, '')) <> '' AND NOT zero_amount(credit)
            AS credit_filled,
        credit_filled AND NOT debit_filled AS credited,
        CASE WHEN NOT $sided THEN amount WHEN credited THEN credit ELSE debit END AS amount_cell,
        CASE
            WHEN NOT $sided THEN amount_native
            WHEN credited THEN credit_native
            ELSE debit_native
        END AS amount_is_number
    FROM ledger_text
),
cleaned AS (
    SELECT
        *,
        nullif(trim(entry_id), '') AS entry_id_clean,
        nullif(trim(order_id), '') AS order_id_clean,
        nullif(trim(reference), '') AS reference_clean,
        upper(trim(currency)) AS currency_clean,
        nullif(trim(booked_at), '') AS booked_text,
        -- the text as ISO 8601, which the zone handling below reads
        CASE WHEN $date_format = 'iso' OR booked_at_native THEN booked_text
            ELSE iso_timestamp(booked_text, $date_patterns)
        END AS booked_iso,
        $decimal_separator = ',' AND NOT amount_is_number AS decimal_comma,
        -- a no-break space (U+00A0, U+202F) groups thousands, or pads a currency marker
        CASE WHEN decimal_comma
            THEN trim(regexp_replace(coalesce(amount_cell, ''), '[\x{a0}\x{202f}]', ' ', 'g'))
            ELSE trim(coalesce(amount_cell, ''))
        END AS amount_text,
        -- most amounts are plain decimals: they skip the symbol and parenthesis handling
        CASE WHEN decimal_comma THEN regexp_full_match(amount_text, '-?\d+(,\d+)?')
            ELSE regexp_full_match(amount_text, '-?\d+(\.\d+)?')
        END AS plain,
        -- one match per row; the reason finds the field only for the rare row that has one
        regexp_matches(
            concat(
                entry_id, order_id, reference, amount, debit, credit, currency, status, booked_at
            ),
            $controls
        ) AS controlled
    FROM sided
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
numbered AS (
    SELECT
        *,
        CASE
            WHEN plain AND NOT decimal_comma THEN true
            WHEN NOT one_sign THEN false
            WHEN decimal_comma THEN regexp_full_match(
                digits,
                '\d{1,3}(\.\d{3})+(,\d+)?|\d{1,3}( \d{3})+(,\d+)?|\d{1,3}(''\d{3})+(,\d+)?'
                || '|\d+(,\d+)?|,\d+'
            )
            ELSE regexp_full_match(digits, '\d{1,3}(,\d{3})+(\.\d+)?|\d+(\.\d+)?|\.\d+')
        END AS well_formed,
        -- the digits as DuckDB reads a decimal: no groups, a point before the decimals
        CASE
            WHEN plain AND NOT decimal_comma THEN digits
            WHEN decimal_comma THEN replace(regexp_replace(digits, '[. '']', '', 'g'), ',', '.')
            ELSE replace(digits, ',', '')
        END AS number
    FROM parsed
),
typed AS (
    SELECT
        p.*,
        getvariable('ledger_exponents')[p.currency_clean] AS exponent,
        CASE WHEN contains(p.number, '.') THEN length(p.number) - strpos(p.number, '.') ELSE 0 END
            AS decimals,
        -- the integer digits are all but the decimals and the point
        length(p.number) - decimals - CASE WHEN contains(p.number, '.') THEN 1 ELSE 0 END
            AS integer_digits,
        -- the first currency marker of the amount's that is not the currency column's: a code
        -- is its own currency, a symbol every currency that writes it ($ a dollar's or a peso's)
        CASE
            WHEN NOT marker_agrees(p.leading_marker, p.currency_clean) THEN upper(p.leading_marker)
            WHEN NOT marker_agrees(p.trailing_marker, p.currency_clean)
                THEN upper(p.trailing_marker)
        END AS other_currency,
        getvariable('ledger_status_words')[lower(trim(p.status))] AS status_clean,
        CASE
            WHEN p.booked_iso IS NULL THEN NULL
            -- most text ends in a digit with no offset before it (2026-04-14 10:00:00): no
            -- branch below but the last can take it, so it is read as naive at once
            WHEN NOT regexp_matches(p.booked_iso, '(?:[+-]\d\d(?::?\d\d)?|\D)$') THEN 'local'
            WHEN regexp_matches(p.booked_iso, '\d:\d\d(:\d\d(\.\d+)?)?\s*(Z|UTC|GMT)$')
                THEN 'utc'
            WHEN regexp_matches(p.booked_iso, '\d:\d\d(:\d\d(\.\d+)?)?\s*[+-]\d\d(:?\d\d)?$')
                THEN 'offset'
            WHEN regexp_matches(p.booked_iso, '[A-Za-z]{2,}$') THEN 'zone'
            ELSE 'local'
        END AS booked_form,
        CASE WHEN booked_form = 'local' THEN try_cast(p.booked_iso AS TIMESTAMP) END
            AS booked_local
    FROM numbered AS p
),
stamped AS (
    SELECT
        *,
        CASE booked_form
            WHEN 'local' THEN local_to_utc(booked_local, $timezone)
            WHEN 'utc'
                THEN try_cast(regexp_replace(booked_iso, '\s*(Z|UTC|GMT)$', '') AS TIMESTAMP)
            WHEN 'offset' THEN timezone('UTC', try_cast(booked_iso AS TIMESTAMPTZ))
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
                WHEN regexp_matches(debit, $controls) THEN 'debit'
                WHEN regexp_matches(credit, $controls) THEN 'credit'
                WHEN regexp_matches(currency, $controls) THEN 'currency'
                WHEN regexp_matches(status, $controls) THEN 'status'
                ELSE 'booked_at'
            END
            WHEN entry_id_clean IS NULL THEN 'missing entry id'
            WHEN $sided AND debit_filled AND credit_filled THEN 'both debit and credit filled'
            WHEN $sided AND NOT debit_filled AND NOT credit_filled
                THEN 'neither debit nor credit filled'
            WHEN amount_text = '' THEN 'blank amount'
            WHEN NOT well_formed THEN 'unparsable amount'
            WHEN exponent IS NULL THEN 'unknown currency'
            WHEN other_currency IS NOT NULL
                THEN 'amount says ' || other_currency || ', currency column says ' || currency_clean
            WHEN $amount_unit = 'minor' AND rtrim(split_part(number, '.', 2), '0') <> ''
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
        -- the sign as written (a credit's turned round: debit minus credit), turned round
        -- again when purchases are booked negative
        THEN (CASE WHEN (negative <> credited) <> ($purchase_sign = 'negative') THEN -1 ELSE 1 END)
            * CASE WHEN $amount_unit = 'minor'
                -- ISO 4217 exponents run from 0 to 4, as DECIMAL(18, 4) allows
                THEN CAST(
                    try_cast(number AS DECIMAL(18, 0))
                    * CASE exponent
                        WHEN 0 THEN 1 WHEN 1 THEN 0.1 WHEN 2 THEN 0.01 WHEN 3 THEN 0.001
                        WHEN 4 THEN 0.0001
                    END
                    AS DECIMAL(18, 4)
                )
                ELSE try_cast(number AS DECIMAL(18, 4))
            END
    END AS amount,
    currency_clean AS currency,
    status_clean AS status,
    booked_utc AS booked_at,
    reason,
    -- the row as the export had it, for quarantine.csv; built only for the rows that go there
    CASE WHEN reason IS NOT NULL THEN
        csv_field(entry_id) || ',' || csv_field(order_id) || ',' || csv_field(reference) || ','
        || CASE WHEN $sided THEN csv_field(debit) || ',' || csv_field(credit)
            ELSE csv_field(amount)
        END
        || ',' || csv_field(currency) || ',' || csv_field(status) || ',' || csv_field(booked_at)
    END AS raw
FROM judged
