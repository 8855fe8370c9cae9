-- Attempt $number ended at $at: its $status and exit $code (what `recon backfill` reads to
-- know which nights to re-run), the one-line $error of a failed run, and the $seconds of each
-- stage.
UPDATE attempts
SET finished_at = $at, status = $status, exit_code = $code, error = $error, seconds = $seconds
WHERE number = $number
