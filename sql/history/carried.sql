-- The breaks open when night $day begins that $day looks at again (of the $checks a fresh
-- status of the order can resolve, vocabulary.CARRIED_CHECKS), each with the books' side its
-- latest finding saw: the entry, its line and the export that line is in (a finding names its
-- `ledger_source` only when that is not its own night's export, the run's `ledger_path`).
SELECT
    b."check", b.order_id, b.ledger_status, b.ledger_entry_id, b.line, b.ledger_amount,
    CASE WHEN b.line IS NOT NULL THEN coalesce(b.ledger_source, r.ledger_path) END
FROM open_before($day) AS b
LEFT JOIN runs AS r USING (run_date)
WHERE b."check" IN (SELECT unnest($checks)) AND b.order_id IS NOT NULL
ORDER BY b."check", b.order_id
