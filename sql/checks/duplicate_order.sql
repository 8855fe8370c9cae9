-- duplicate_order (error): more than one Starship order for one partner reference.
--
-- Why it matters: a POST /orders retried without its original Idempotency-Key creates a second
-- order and charges the wallet twice. What to do: ask Starship to cancel and refund the copy,
-- and make every retry reuse the first attempt's Idempotency-Key.
--
-- Reported once per surplus order of D (see setup/match.sql for which one is the original);
-- an unbooked copy is not also reported as missing_in_ledger.
--
-- Accounts for: orders. The orders of D it reports (by `order_id`) no ledger row matched;
-- conservation counts them as reported (recon.checks.accounts_for).
SELECT
    o.order_id AS key,
    o.order_id,
    o.client_reference AS reference,
    o.currency,
    o.total_amount AS starship_amount,
    o.status AS starship_status,
    o.sub_status AS starship_sub_status,
    o.created_at,
    o.trace_id,
    'same reference as ' || d.original_order_id AS detail
FROM duplicate_orders AS d
JOIN orders_all AS o USING (order_id)
