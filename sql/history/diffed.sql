-- The nights whose diff is recorded, that is the nights that have judged their ledger rows:
-- memory.stream counts them among the readers of each export.
SELECT run_date FROM runs
