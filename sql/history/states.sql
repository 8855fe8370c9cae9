-- Night $day's findings with their place in each break's life: new, persisting (with the date
-- it was first seen in its current episode, that is since it last resolved), expected (may
-- still resolve by itself), acknowledged or snoozed (an analyst explained it).
-- Ages are measured at the end of $day: from the order's creation when there is one, else
-- from the first night that saw it. Each finding also carries the drift and the money at risk
-- it stands for (report/drift.sql), which the report sums per currency.
WITH last_resolution AS (
    SELECT break_id, max(run_date) AS resolved_on
    FROM resolutions
    WHERE run_date < $day
    GROUP BY break_id
),
episode AS (
    SELECT f.break_id, min(f.run_date) AS first_seen
    FROM findings AS f
    LEFT JOIN last_resolution AS r USING (break_id)
    WHERE f.run_date <= $day AND (r.resolved_on IS NULL OR f.run_date > r.resolved_on)
    GROUP BY f.break_id
),
latest_action AS (
    SELECT *
    FROM actions
    QUALIFY row_number() OVER (PARTITION BY break_id ORDER BY number DESC) = 1
)
SELECT
    f.* EXCLUDE (run_date),
    CASE
        WHEN a.action = 'snooze' AND a.until >= $day THEN 'snoozed'
        WHEN a.action = 'ack' THEN 'acknowledged'
        WHEN f.expected THEN 'expected'
        WHEN e.first_seen < $day THEN 'persisting'
        ELSE 'new'
    END AS state,
    e.first_seen,
    round(
        date_diff('second', coalesce(f.created_at, CAST(e.first_seen AS TIMESTAMP)), $day_end)
        / 3600, 1
    ) AS age_hours,
    CASE WHEN a.action IN ('ack', 'snooze') THEN a.note END AS note,
    drift(f."check", f.delta, f.starship_amount, f.ledger_amount) AS drift,
    at_risk(f."check", f.delta, f.starship_amount, f.ledger_amount) AS at_risk
FROM findings AS f
JOIN episode AS e USING (break_id)
LEFT JOIN latest_action AS a USING (break_id)
WHERE f.run_date = $day
ORDER BY f."check", f.key
