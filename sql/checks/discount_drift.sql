-- discount_drift (warning): Starship charged a total other than the partner's discount sheet says.
--
-- Why it matters: Starship charges each partner a negotiated discount (CPD) per product, so a
-- total below face value is normal; seed 000 says CPD changes without notice, so a changed
-- discount is a silent drift in the partner's margin that no other check sees (the ledger
-- books what was charged). What to do: compare with the discount agreed for the product; if
-- Starship changed it, update `[checks] discount_sheet`, else raise the difference with Starship.
--
-- Expected total: denomination x quantity x (1 - the sheet's discount), rounded half-up to the
-- currency's minor unit; the sheet's row for the product and currency with the latest
-- `valid_from` on or before the order's day applies. Scope: the orders of D whose product the
-- sheet prices on their day (a product without a row in force is unknown_status). Without a
-- sheet, no rows.
WITH terms AS (
    SELECT o.*, s.discount_percent, c.exponent
    FROM orders_day AS o
    JOIN discount_sheet AS s
        ON s.product_id = o.product_id
        AND s.currency = o.currency
        AND in_force(s.valid_from, o.created_at)
    JOIN currencies AS c ON c.code = o.currency
    QUALIFY row_number() OVER (
        PARTITION BY o.order_id ORDER BY s.valid_from DESC NULLS LAST
    ) = 1
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
