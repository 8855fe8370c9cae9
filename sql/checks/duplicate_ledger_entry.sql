-- duplicate_ledger_entry (error): the same order sold twice, or the same entry id booked twice.
--
-- Why it matters: the partner's books count the purchase twice, so its cost and its stock of
-- vouchers are overstated. What to do: reverse the later entry (the earlier line is treated
-- as the booking).
--
-- Scope: D's export, against the bookings of the window's earlier exports too. A reversal (a
-- later row that cancels the sale) is not a duplicate; a second sale or a second reversal is.
SELECT
    CASE WHEN m.entry_rank > 1 THEN m.entry_id || '@' || m.line ELSE m.entry_id END AS key,
    m.entry_id AS ledger_entry_id,
    m.line,
    coalesce(m.order_id, m.booked_order_id) AS order_id,
    m.reference,
    m.ledger_currency AS currency,
    m.ledger_amount,
    m.ledger_status,
    CASE
        WHEN m.entry_rank > 1 THEN 'entry id ' || m.entry_id || ' appears again'
        WHEN first.today THEN 'order already booked by entry ' || first.entry_id
            || ' (line ' || first.line || ')'
        ELSE 'order already booked by entry ' || first.entry_id || ' (line ' || first.line
            || ' of the export of ' || first.export_date || ')'
    END || CASE WHEN m.role = 'duplicate' AND m.ledger_status = 'CANCELLED'
        THEN '; it is already cancelled in the books' ELSE '' END AS detail
FROM matches AS m
LEFT JOIN (SELECT * FROM rebookings WHERE booking = 1) AS first ON first.order_id = m.order_id
WHERE m.entry_rank > 1 OR m.role = 'duplicate'
