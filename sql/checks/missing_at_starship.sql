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
    entry_id AS key,
    entry_id AS ledger_entry_id,
    line,
    booked_order_id AS order_id,
    reference,
    ledger_currency AS currency,
    ledger_amount,
    ledger_status
FROM matches
WHERE order_id IS NULL AND entry_rank = 1
