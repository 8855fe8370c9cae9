-- currency_mismatch (error): matched, but booked in another currency than Starship charged.
--
-- Why it matters: the amount may even look right, but the wrong wallet is reconciled: one
-- currency's books are overstated and another's understated. What to do: rebook the entry in
-- the currency of the order (the wallet that was debited).
WITH broken AS (
    SELECT
        CASE WHEN p.role = 'reversal' THEN p.order_id || '/reversal' ELSE p.order_id END AS key,
        p.order_id,
        p.row_id,
        p.entry_id AS ledger_entry_id,
        p.line,
        p.ledger_source,
        p.currency,
        p.total_amount AS starship_amount,
        p.ledger_amount,
        p.status AS starship_status,
        p.ledger_status,
        p.created_at,
        p.match_method,
        'booked in ' || p.ledger_currency || ', charged in ' || p.currency AS detail
    FROM pairs AS p
    WHERE p.ledger_currency <> p.currency
)
-- the order's reference and trace id, looked up for the few rows that break
SELECT b.*, o.client_reference AS reference, o.trace_id
FROM broken AS b
LEFT JOIN (
    SELECT order_id, client_reference, trace_id
    FROM orders_all
    SEMI JOIN broken USING (order_id)
) AS o USING (order_id)
