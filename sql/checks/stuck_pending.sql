-- stuck_pending (warning): PLACED, PENDING or PARTIALLY_DELIVERED longer than the threshold.
--
-- Why it matters: the wallet was debited when the order was placed, but no voucher (or not
-- every voucher) reached the customer. What to do: by sub-status: VENDOR_ORDER_PENDING and
-- PENDING_REPROCESS wait on Starship or the vendor, so open a ticket; PARTIAL means read the
-- order's items; a bulk order still INITIAL was never allocated.
--
-- Starship's integration journey asks for this alert, and its lifecycle says what each
-- sub-status waits on (docs/starship-api.md, Integration journey and Order lifecycle).
--
-- Ages are measured at the end of D, so a re-run gives the same answer. Scope: orders created
-- in the look-back window (their status was refreshed tonight) and open breaks from earlier
-- nights.
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
    o.delivered_item_count || ' of ' || o.quantity || ' vouchers delivered' AS detail
FROM orders_all AS o
JOIN status_classes AS c ON c.status = o.status
WHERE c.ledger_status = 'PENDING'
    AND o.created_at < $day_end - to_hours($stuck_pending_hours)
    AND (
        o.created_at >= $window_start
        OR o.order_id IN (SELECT order_id FROM carried WHERE "check" = 'stuck_pending')
    )
