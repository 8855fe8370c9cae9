-- Every night's findings about it (about.sql), oldest night first.
SELECT
    run_date, break_id, "check", severity, key, expected, order_id, ledger_entry_id,
    transaction_id, reference, currency, starship_amount, ledger_amount, delta, starship_status,
    starship_sub_status, ledger_status, created_at, line, ledger_source, trace_id, detail
FROM about
ORDER BY run_date, "check", key
