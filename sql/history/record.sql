-- Night $day's rows, replacing those of any earlier run of the same date, so that a re-run
-- gives the same history: History.record runs this script in one transaction, all of it or
-- none. What analysts said (`actions`) is not a night's and survives re-runs.
DELETE FROM findings WHERE run_date = $day;
DELETE FROM quarantine WHERE run_date = $day;
DELETE FROM resolutions WHERE run_date = $day;
DELETE FROM runs WHERE run_date = $day;

-- A break's id is a short hash of its check and key: the same every night, short enough to type.
INSERT INTO findings BY NAME
SELECT $day AS run_date, left(sha256("check" || chr(31) || key), 12) AS break_id, *
FROM tonight;

INSERT INTO quarantine BY NAME SELECT $day AS run_date, * FROM tonight_quarantine;

-- A break of a check that looks again every night ($checks, history.NIGHTLY_CHECKS) that the
-- night no longer finds is resolved on it; a break about one day's books closes only when that
-- day is re-run and no longer finds it (its DELETE above, no resolution).
INSERT INTO resolutions
SELECT $day, break_id
FROM open_before($day)
WHERE "check" IN (SELECT unnest($checks))
    AND break_id NOT IN (SELECT break_id FROM findings WHERE run_date = $day);

-- The JSON columns are as recon.checks.Diff has them (runs in schema.sql says what each is).
INSERT INTO runs BY NAME
SELECT
    $day AS run_date, $started AS started_at, $finished AS finished_at, $complete AS complete,
    $counts AS counts, $path AS ledger_path, $totals AS totals,
    $reconciliation AS reconciliation, $incomplete AS incomplete,
    $missing_exports AS missing_exports, $wallets AS wallets, $causes AS causes;
