-- unknown_status (info): a status, sub-status or transaction type recon does not know yet.
--
-- Why it matters: Sub-statuses are added over time; treat an unknown one as informational,
-- never as an error. Recon keeps the row and carries on. What to do: read the Starship
-- changelog and teach recon the new value (sql/setup/vocabulary.sql).
--
-- Starship's order lifecycle and versioning pages say so (docs/starship-api.md, Order lifecycle and
-- Versioning and stability).
--
-- Scope: the orders and transactions of D; with a discount sheet, also each product of D's
-- orders the sheet does not price (one row per product and night: add it to the sheet): one
-- it does not list, or lists only from a later day (no row is in force on D, so discount_drift
-- cannot price it either).
SELECT
    o.order_id || '/' || coalesce(o.status, '') || '/' || coalesce(o.sub_status, '') AS key,
    o.order_id,
    o.client_reference AS reference,
    o.currency,
    o.total_amount AS starship_amount,
    o.status AS starship_status,
    o.sub_status AS starship_sub_status,
    o.created_at,
    o.trace_id,
    CASE
        WHEN o.status NOT IN (SELECT status FROM status_classes) THEN 'status ' || o.status
        ELSE 'sub-status ' || o.sub_status
    END || ' is not known' AS detail
FROM orders_day AS o
WHERE o.status NOT IN (SELECT status FROM status_classes)
    OR o.sub_status NOT IN (SELECT value FROM known_values WHERE kind = 'sub_status')

UNION ALL BY NAME

SELECT
    t.transaction_id || '/' || t.type AS key,
    t.transaction_id,
    t.order_id,
    t.currency,
    t.amount AS starship_amount,
    t.created_at,
    t.trace_id,
    'transaction type ' || t.type || ' is not known' AS detail
FROM transactions_day AS t
WHERE t.type NOT IN (SELECT value FROM known_values WHERE kind = 'transaction_type')

UNION ALL BY NAME

SELECT
    'product/' || o.product_id || '/' || o.currency AS key,
    min(o.order_id) AS order_id,
    o.currency,
    'product ' || o.product_id || ' (' || o.currency || ') '
        || CASE WHEN l.since IS NULL THEN 'is not in the discount sheet'
            ELSE 'has no discount in the sheet before ' || l.since END
        || ': ' || count(*) || ' order(s) of the day not priced' AS detail
FROM orders_day AS o
ANTI JOIN discount_sheet AS s
    ON s.product_id = o.product_id
    AND s.currency = o.currency
    AND in_force(s.valid_from, o.created_at)
LEFT JOIN (  -- listed, but only from a later day
    SELECT product_id, currency, min(valid_from) AS since FROM discount_sheet GROUP BY ALL
) AS l ON l.product_id = o.product_id AND l.currency = o.currency
WHERE EXISTS (SELECT 1 FROM discount_sheet) AND o.product_id IS NOT NULL
GROUP BY o.product_id, o.currency, l.since
