-- The ledger rows that booked it, in every export the lake remembers, with file and line.
-- Binds $entries, $orders, $references.
SELECT * EXCLUDE (dataset, date) FROM ledger_seen
WHERE entry_id IN (SELECT unnest($entries))
    OR order_id IN (SELECT unnest($orders))
    OR reference IN (SELECT unnest($references))
ORDER BY export_date, line
