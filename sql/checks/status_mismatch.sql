-- status_mismatch (error): the ledger's status disagrees with Starship's at the end of D.
--
-- Why it matters: the common case is a delivered order that Starship later cancelled and
-- refunded (a vendor recall, a fraud flag): the partner missed the order.cancelled webhook and
-- still books revenue for a voucher that no longer works. What to do: seed 004 says handle a
-- late cancellation even for an order already marked done: reverse the sale, book the refund.
--
-- Starship's primary status is compared in the ledger's terms (status_classes); a status recon
-- does not know is reported as unknown_status instead.
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
    p.ledger_status,
    p.created_at,
    p.trace_id,
    p.match_method
FROM pairs AS p
JOIN status_classes AS c ON c.status = p.status
WHERE c.ledger_status <> p.ledger_status
