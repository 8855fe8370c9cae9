-- The breaks open when night $day begins: last found on an earlier night, and not resolved
-- since. One row per break: its latest finding.
WITH latest AS (
    SELECT *
    FROM findings
    WHERE run_date < $day
    QUALIFY row_number() OVER (PARTITION BY break_id ORDER BY run_date DESC) = 1
)
SELECT l.*
FROM latest AS l
WHERE NOT EXISTS (
    SELECT 1 FROM resolutions AS r
    WHERE r.break_id = l.break_id AND r.run_date > l.run_date AND r.run_date < $day
)
