-- missing_in_ledger (error): Starship charged the wallet for an order the ledger does not have.
--
-- Why it matters: the money left the prepaid wallet, but the partner's books never recorded the
-- purchase: either the order's response was lost (a timeout) and the voucher was never handed
-- on, or the booking failed. What to do: look the reference up in your own system; book the
-- order, or ask Starship to cancel it if no customer received the voucher.
--
-- Scope: orders created on D, and orders reported missing on earlier nights that are still open
-- (`carried`), until a ledger row books them. An order placed within `grace_minutes` of the
-- cut-off is `expected`: its entry may land on the next day's export. A surplus copy of a
-- reference is reported as duplicate_order instead.
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
    o.created_at >= $day_end - to_minutes($grace_minutes) AS expected
FROM orders_all AS o
WHERE (
        (o.created_at >= $day_start AND o.created_at < $day_end)
        OR o.order_id IN (SELECT order_id FROM carried WHERE "check" = 'missing_in_ledger')
    )
    AND o.order_id NOT IN (SELECT order_id FROM matches WHERE order_id IS NOT NULL)
    AND o.order_id NOT IN (SELECT order_id FROM duplicate_orders)
