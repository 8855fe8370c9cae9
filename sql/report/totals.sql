-- The day's totals per currency, for the report's control figures: what Starship charged for
-- the orders created on D (cancelled ones included: a refund is a separate movement) and what
-- the usable rows of D's ledger export book. Money stays DECIMAL; the report prints it.
SELECT
    currency,
    sum(orders)::BIGINT AS starship_orders,
    sum(starship_total) AS starship_total,
    sum(entries)::BIGINT AS ledger_entries,
    sum(ledger_total) AS ledger_total
FROM (
    SELECT currency, count(*) AS orders, sum(total_amount) AS starship_total,
        0 AS entries, NULL::DECIMAL(18, 4) AS ledger_total
    FROM orders_day
    GROUP BY currency
    UNION ALL
    SELECT currency, 0, NULL, count(*), sum(amount)
    FROM ledger
    GROUP BY currency
)
GROUP BY currency
ORDER BY currency
