-- missing_at_starship (error): the ledger has an entry Starship has no order for.
--
-- Why it matters: the partner believes it bought (and may have sold on) a voucher that Starship
-- never issued or charged for: a failed order booked as done, a typo in the order id, or an
-- entry made by hand. What to do: check the order id and reference against the API; if the
-- order really does not exist, reverse the booking.
--
-- Scope: the usable rows tonight judges that matched no Starship order up to D, by order id or
-- by reference: those of each export whose business day ends on D (or that came late and were
-- first read tonight). A row of an export whose business day runs past D (a Pacific partner's
-- export of D books orders until 08:00 UTC on D+1) is judged on the night the day ends, when
-- every order it could book is in the lake.
--
-- Accounts for: entries. The usable ledger rows it reports (by `row_id`) matched no order;
-- conservation counts them as reported (recon.checks.accounts_for).
SELECT
    entry_id AS key,
    row_id,
    entry_id AS ledger_entry_id,
    line,
    ledger_source,
    booked_order_id AS order_id,
    reference,
    ledger_currency AS currency,
    ledger_amount,
    ledger_status
FROM matches
WHERE order_id IS NULL AND entry_rank = 1
