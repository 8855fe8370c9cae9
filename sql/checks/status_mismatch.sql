-- status_mismatch (error): the books' status for an order disagrees with Starship's at the end of D.
--
-- Why it matters: the common case is a delivered order that Starship later cancelled and
-- refunded (a vendor recall, a fraud flag): the partner missed the order.cancelled webhook and
-- still books revenue for a voucher that no longer works. What to do: seed 004 says handle a
-- late cancellation even for an order already marked done: reverse the sale, book the refund.
--
-- The books' status is the order's net booking across the window's exports: cancelled once a
-- row reverses the sale (or the sale was booked cancelled), else the sale's status. Checked on
-- night D: every order D's export books or reverses; and every order of the window that
-- Starship cancelled on D, whose sale an earlier export booked and no export reverses (the
-- finding names that sale's entry, export and line). Starship's primary status is compared in
-- the ledger's terms (status_classes); a status recon does not know is unknown_status instead.
SELECT
    p.order_id AS key,
    p.order_id,
    p.entry_id AS ledger_entry_id,
    p.line,
    p.client_reference AS reference,
    p.currency,
    p.total_amount AS starship_amount,
    p.ledger_amount,
    p.status AS starship_status,
    p.sub_status AS starship_sub_status,
    p.booked_status AS ledger_status,
    p.created_at,
    p.trace_id,
    p.match_method,
    CASE WHEN p.role = 'reversal'
        THEN 'the books reverse a sale Starship has ' || p.status END AS detail
FROM pairs AS p
JOIN status_classes AS c ON c.status = p.status
WHERE (p.role = 'reversal' OR NOT p.reversed_today)
    AND c.ledger_status <> p.booked_status

UNION ALL BY NAME

SELECT
    o.order_id AS key,
    o.order_id,
    b.entry_id AS ledger_entry_id,
    b.line,
    b.source AS ledger_source,
    o.client_reference AS reference,
    o.currency,
    o.total_amount AS starship_amount,
    b.amount AS ledger_amount,
    o.status AS starship_status,
    o.sub_status AS starship_sub_status,
    b.status AS ledger_status,
    o.created_at,
    o.trace_id,
    'Starship cancelled it on ' || strftime(o.updated_at, '%Y-%m-%d') || '; the sale, entry '
        || b.entry_id || ' of the export of ' || b.export_date || ' ('
        || regexp_extract(b.source, '[^/\\]+$') || ', line ' || b.line
        || '), is not reversed by any export since' AS detail
FROM orders_all AS o
JOIN status_classes AS c ON c.status = o.status
JOIN earlier_bookings AS b ON b.order_id = o.order_id
LEFT JOIN histories AS h ON h.order_id = o.order_id
WHERE c.ledger_status = 'CANCELLED'
    AND o.updated_at >= $day_start AND o.updated_at < $day_end
    AND o.order_id NOT IN (SELECT order_id FROM pairs)
    AND (h.order_id IS NULL OR (b.export_date = h.sale_export_date AND b.line = h.sale_line))
    AND NOT coalesce(h.reversed OR h.sale_status = 'CANCELLED', b.status = 'CANCELLED')
