-- duplicate_ledger_entry (error): the same order sold twice, or the same entry id booked twice.
--
-- Why it matters: the partner's books count the purchase twice, so its cost and its stock of
-- vouchers are overstated. What to do: reverse the later entry (the earlier line is treated
-- as the booking).
--
-- Scope: D's export, against the bookings of the window's earlier exports too. A reversal (a
-- later row that cancels the sale) is not a duplicate; a second sale or a second reversal is.
SELECT
    CASE WHEN m.entry_rank > 1 THEN l.entry_id || '@' || l.line ELSE l.entry_id END AS key,
    l.entry_id AS ledger_entry_id,
    l.line,
    coalesce(m.order_id, l.order_id) AS order_id,
    l.reference,
    l.currency,
    l.amount AS ledger_amount,
    l.status AS ledger_status,
    CASE
        WHEN m.entry_rank > 1 THEN 'entry id ' || l.entry_id || ' appears again'
        WHEN first.today THEN 'order already booked by entry ' || first.entry_id
            || ' (line ' || first.line || ')'
        ELSE 'order already booked by entry ' || first.entry_id || ' (line ' || first.line
            || ' of the export of ' || first.export_date || ')'
    END || CASE WHEN m.role = 'duplicate' AND l.status = 'CANCELLED'
        THEN '; it is already cancelled in the books' ELSE '' END AS detail
FROM ledger AS l
JOIN matches AS m USING (line)
LEFT JOIN (SELECT * FROM rebookings WHERE booking = 1) AS first ON first.order_id = m.order_id
WHERE m.entry_rank > 1 OR m.role = 'duplicate'
