-- missing_at_starship (error): the ledger has an entry Starship has no order for.
--
-- Why it matters: the partner believes it bought (and may have sold on) a voucher that Starship
-- never issued or charged for: a failed order booked as done, a typo in the order id, or an
-- entry made by hand. What to do: check the order id and reference against the API; if the
-- order really does not exist, reverse the booking.
--
-- Scope: the usable rows of D's export that matched no Starship order up to D, by order id or
-- by reference.
SELECT
    l.entry_id AS key,
    l.entry_id AS ledger_entry_id,
    l.line,
    l.order_id,
    l.reference,
    l.currency,
    l.amount AS ledger_amount,
    l.status AS ledger_status
FROM ledger AS l
JOIN matches AS m USING (line)
WHERE m.order_id IS NULL AND m.entry_rank = 1
