-- The record of night $day's latest diff (at most one row: a re-run replaces it), for the
-- report's header and `recon runs`: when, complete or not, its counts, totals and causes.
SELECT * FROM runs WHERE run_date = $day
