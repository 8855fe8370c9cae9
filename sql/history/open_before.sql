-- open_before(day): the breaks open when night `day` begins: last found on an earlier night,
-- and not resolved since. One row per break: its latest finding. A table macro (History.connect
-- makes it on every connection), so that the statements that start from the open breaks
-- (carried.sql, open_orders.sql, resolved.sql, record.sql's resolutions) are each one file
-- that binds its own night, and record.sql one script.
CREATE OR REPLACE TEMP MACRO open_before(day) AS TABLE
WITH latest AS (
    SELECT *
    FROM findings
    WHERE run_date < day
    QUALIFY row_number() OVER (PARTITION BY break_id ORDER BY run_date DESC) = 1
)
SELECT l.*
FROM latest AS l
WHERE NOT EXISTS (
    SELECT 1 FROM resolutions AS r
    WHERE r.break_id = l.break_id AND r.run_date > l.run_date AND r.run_date < day
)
