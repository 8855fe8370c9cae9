-- discount_drift (warning): Starship charged a total other than the partner's discount sheet says.
--
-- Why it matters: Starship charges each partner a negotiated discount (CPD) per product, so a
-- total below face value is normal; CPD changes without notice, so a changed
-- discount is a silent drift in the partner's margin that no other check sees (the ledger
-- books what was charged). What to do: compare with the discount agreed for the product; if
-- Starship changed it, update `[checks] discount_sheet`, else raise the difference with Starship.
--
-- That CPD changes without notice is Starship's own warning (docs/starship-api.md, Integration
-- journey).
--
-- Expected total: denomination x quantity x (1 - the sheet's discount), rounded half-up to the
-- currency's minor unit; the sheet's row for the product and currency with the latest
-- `valid_from` on or before the order's day applies. Scope: the orders of D whose product the
-- sheet prices on their day (a product without a row in force is unknown_status). Without a
-- sheet, no rows.
WITH sheet AS (  -- each row's days: from its valid_from to the next row's of its product and
    -- currency (the sheet prices a product once a valid_from), so an order meets one row
    SELECT
        *,
        lead(valid_from) OVER (
            PARTITION BY product_id, currency ORDER BY valid_from NULLS FIRST
        ) AS superseded_on
    FROM discount_sheet
),
terms AS (
    SELECT o.*, s.discount_percent, c.exponent
    FROM orders_day AS o
    JOIN sheet AS s
        ON s.product_id = o.product_id
        AND s.currency = o.currency
        AND in_force(s.valid_from, o.created_at)
        AND (s.superseded_on IS NULL OR CAST(o.created_at AS DATE) < s.superseded_on)
    JOIN currencies AS c ON c.code = o.currency
),
priced AS (
    SELECT
        *,
        to_minor_unit(
            CAST(denomination AS DECIMAL(38, 4)) * quantity * (100 - discount_percent) * 0.01,
            exponent
        ) AS expected_total
    FROM terms
)
SELECT
    p.order_id AS key,
    p.order_id,
    p.client_reference AS reference,
    p.currency,
    p.total_amount AS starship_amount,
    p.total_amount - p.expected_total AS delta,
    p.status AS starship_status,
    p.created_at,
    p.trace_id,
    'expected ' || money(p.expected_total, p.currency) || ' (' || p.quantity || ' x '
        || money(p.denomination, p.currency) || ' less ' || decimal_text(p.discount_percent)
        || ' %), charged ' || money(p.total_amount, p.currency) AS detail
FROM priced AS p
LEFT JOIN tolerances AS t ON t.currency = p.currency
WHERE abs(p.total_amount - p.expected_total) > coalesce(t.tolerance, 0)
