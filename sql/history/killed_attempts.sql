-- Run before a new attempt is recorded. Whoever starts one holds the data directory's lock, so
-- an attempt still `running` belongs to a process that ended without finishing it.
UPDATE attempts
SET status = 'killed', error = 'the process ended without finishing the run'
WHERE status = 'running'
