-- A run of night $day started ($command: run or backfill): its number, which finish_attempt.sql
-- is given when it ends. $host, $pid and $version say which process to look for if it never
-- finishes.
INSERT INTO attempts (run_date, command, started_at, status, host, pid, version)
VALUES ($day, $command, $at, 'running', $host, $pid, $version)
RETURNING number
