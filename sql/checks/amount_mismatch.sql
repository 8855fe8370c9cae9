-- amount_mismatch (error): matched, but the amounts differ by more than the currency's tolerance.
--
-- Why it matters: a 0.05 drift per order becomes real money over a quarter. The ledger booked a
-- different price than Starship charged (a stale price list, a rounding rule, a fee). What to
-- do: correct the booking to Starship's charge, or raise the difference with Starship.
-- `delta` is ledger minus Starship. Tolerances are in each currency's minor units (default 0:
-- exact); amounts were never rounded on the way in.
--
-- A sale is compared with the total Starship charged (the discounted price, not the face
-- value). A reversal is compared with the sale it reverses, sign aside (partners book it
-- negated or unchanged): the two net to zero, as a refunded cancellation does at Starship. A
-- reversal of a sale older than the ledger's memory is compared with the total, sign aside.
-- A partial refund (Starship cancelled the order after delivering some of its items, keeping
-- their share: `kept_amount`, macros.sql's delivered_share) is compared with what Starship
-- refunded, the total less that share: the order's net booking is then what Starship kept.
WITH compared AS (
    SELECT
        *,
        CASE
            WHEN role = 'reversal' AND kept_amount > 0 THEN total_amount - kept_amount
            WHEN role = 'reversal' THEN coalesce(sale_amount, total_amount)
            ELSE total_amount
        END AS charged,
        CASE WHEN role = 'reversal' THEN abs(ledger_amount) ELSE ledger_amount END AS booked
    FROM pairs
),
broken AS (
    SELECT
        CASE WHEN p.role = 'reversal' THEN p.order_id || '/reversal' ELSE p.order_id END AS key,
        p.order_id,
        p.row_id,
        p.entry_id AS ledger_entry_id,
        p.line,
        p.ledger_source,
        p.currency,
        p.charged AS starship_amount,
        p.ledger_amount,
        p.booked - p.charged AS delta,
        p.status AS starship_status,
        p.ledger_status,
        p.created_at,
        p.match_method,
        CASE
            WHEN p.role = 'reversal' AND p.kept_amount > 0
                THEN 'the refund does not book what Starship refunded for the undelivered items: '
                    || money(p.charged, p.currency) || ' (it kept ' || money(p.kept_amount, p.currency)
                    || ' of ' || money(p.total_amount, p.currency) || ')'
            WHEN p.role = 'reversal' AND p.sale_amount IS NULL
                THEN 'the reversal of a sale older than the ledger''s memory does not reverse the '
                    || 'total of ' || money(p.total_amount, p.currency)
            WHEN p.role = 'reversal' THEN 'the reversal does not reverse the booked sale of '
                || money(p.sale_amount, p.currency)
        END AS detail
    FROM compared AS p
    LEFT JOIN tolerances AS t ON t.currency = p.currency
    WHERE p.ledger_currency = p.currency
        AND abs(p.booked - p.charged) > coalesce(t.tolerance, 0)
)
-- the order's reference and trace id, looked up for the few rows that break
SELECT b.*, o.client_reference AS reference, o.trace_id
FROM broken AS b
LEFT JOIN (
    SELECT order_id, client_reference, trace_id
    FROM orders_all
    SEMI JOIN broken USING (order_id)
) AS o USING (order_id)
