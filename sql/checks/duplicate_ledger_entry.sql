-- duplicate_ledger_entry (error): the same order sold twice, or the same entry id booked twice.
--
-- Why it matters: the partner's books count the purchase twice, so its cost and its stock of
-- vouchers are overstated. What to do: reverse the later entry (the earlier line is treated
-- as the booking).
--
-- Scope: the rows tonight judges, against every booking of the ledger's stream (the window's
-- earlier exports, and any later one already there). A reversal (a later row that cancels the
-- sale) is not a duplicate; a second sale or a second reversal is. A repeated entry id is keyed
-- by its line, and by its export's date too when the export is not D's.
--
-- Accounts for: entries. The usable ledger rows it reports (by `row_id`) matched no order;
-- conservation counts them as reported (recon.checks.accounts_for).
SELECT
    CASE
        WHEN m.entry_rank > 1 AND m.ledger_source IS NULL THEN m.entry_id || '@' || m.line
        WHEN m.entry_rank > 1 THEN m.entry_id || '@' || m.export_date || ':' || m.line
        ELSE m.entry_id
    END AS key,
    m.row_id,
    m.entry_id AS ledger_entry_id,
    m.line,
    m.ledger_source,
    coalesce(m.order_id, m.booked_order_id) AS order_id,
    m.reference,
    m.ledger_currency AS currency,
    m.ledger_amount,
    m.ledger_status,
    CASE
        WHEN m.entry_rank > 1 THEN 'entry id ' || m.entry_id || ' appears again'
        WHEN first.export_date = m.export_date THEN 'order already booked by entry ' || first.entry_id
            || ' (line ' || first.line || ')'
        ELSE 'order already booked by entry ' || first.entry_id || ' (line ' || first.line
            || ' of the export of ' || first.export_date || ')'
    END || CASE WHEN m.role = 'duplicate' AND m.ledger_status = 'CANCELLED'
        THEN '; it is already cancelled in the books' ELSE '' END AS detail
FROM matches AS m
LEFT JOIN (SELECT * FROM rebookings WHERE booking = 1) AS first ON first.order_id = m.order_id
WHERE m.entry_rank > 1 OR m.role = 'duplicate'
