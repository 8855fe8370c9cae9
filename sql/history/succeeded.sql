-- The nights from $since to $until with a run that did its work, the books agreeing or not
-- (exit code 0 or 1): `recon backfill` re-runs the others.
SELECT DISTINCT run_date
FROM attempts
WHERE run_date BETWEEN $since AND $until AND exit_code IN (0, 1)
