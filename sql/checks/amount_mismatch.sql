-- amount_mismatch (error): matched, but the amounts differ by more than the currency's tolerance.
--
-- Why it matters: a 0.05 drift per order becomes real money over a quarter. The ledger booked a
-- different price than Starship charged (a stale price list, a rounding rule, a fee). What to
-- do: correct the booking to Starship's charge, or raise the difference with Starship.
-- `delta` is ledger minus Starship. Tolerances are in each currency's minor units (default 0:
-- exact); amounts were never rounded on the way in.
--
-- Also here, the gift-card sanity check: an order whose total is not its denomination times its
-- quantity, where the API gives all three (a Starship-side pricing break).
SELECT
    p.order_id AS key,
    p.order_id,
    p.entry_id AS ledger_entry_id,
    p.line,
    p.client_reference AS reference,
    p.currency,
    p.total_amount AS starship_amount,
    p.ledger_amount,
    p.ledger_amount - p.total_amount AS delta,
    p.status AS starship_status,
    p.ledger_status,
    p.created_at,
    p.trace_id,
    p.match_method
FROM pairs AS p
LEFT JOIN tolerances AS t ON t.currency = p.currency
WHERE p.ledger_currency = p.currency
    AND abs(p.ledger_amount - p.total_amount) > coalesce(t.tolerance, 0)

UNION ALL BY NAME

SELECT
    o.order_id || '/face-value' AS key,
    o.order_id,
    o.client_reference AS reference,
    o.currency,
    o.total_amount AS starship_amount,
    o.total_amount - o.denomination * o.quantity AS delta,
    o.status AS starship_status,
    o.created_at,
    o.trace_id,
    'total is not denomination x quantity (' || o.quantity || ' x ' || money(o.denomination, o.currency) || ')'
        AS detail
FROM orders_day AS o
WHERE o.total_amount <> o.denomination * o.quantity
