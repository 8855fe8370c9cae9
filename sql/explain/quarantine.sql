-- Its ledger rows some night could not use, with the reason. Binds $entries.
SELECT * FROM quarantine
WHERE entry_id IN (SELECT unnest($entries))
ORDER BY run_date, source, line
