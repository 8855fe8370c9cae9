-- Every night diffed up to $day, newest first: complete or not, and how many of its findings at
-- error severity nothing explains, counted as history/states.sql gives that night its states
-- (not expected, not acknowledged, not snoozed until that night or later). The canary's exit
-- criterion is two nights in a row with none.
WITH latest_action AS (
    SELECT *
    FROM actions
    QUALIFY row_number() OVER (PARTITION BY break_id ORDER BY number DESC) = 1
)
SELECT
    r.run_date,
    coalesce(r.complete, true) AS complete,
    count(f.break_id) FILTER (
        WHERE f.severity = 'error'
            AND NOT coalesce(f.expected, false)
            AND coalesce(a.action, '') <> 'ack'
            AND NOT coalesce(a.action = 'snooze' AND a.until >= r.run_date, false)
    ) AS unexplained
FROM runs AS r
LEFT JOIN findings AS f ON f.run_date = r.run_date
LEFT JOIN latest_action AS a ON a.break_id = f.break_id
WHERE r.run_date <= $day
GROUP BY ALL
ORDER BY r.run_date DESC
