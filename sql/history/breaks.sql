-- Every break recon has found, one row each, as of $today: its latest finding, the nights it
-- was first and last seen, how many nights found it, whether a later night resolved it, and
-- the latest thing an analyst said of it. `recon breaks` lists the ones not resolved; the
-- notebook's `breaks()` filters on `state`.
-- Ages are measured at the end of the last night that saw the break, as a night's findings
-- measure theirs at the end of that night: from the order's creation when there is one.
WITH latest AS (
    SELECT *
    FROM findings
    QUALIFY row_number() OVER (PARTITION BY break_id ORDER BY run_date DESC) = 1
),
seen AS (
    SELECT break_id, min(run_date) AS first_seen, count(*) AS nights
    FROM findings
    GROUP BY break_id
),
resolution AS (
    SELECT r.break_id, min(r.run_date) AS resolved_on
    FROM resolutions AS r
    JOIN latest AS l ON r.break_id = l.break_id AND r.run_date > l.run_date
    GROUP BY r.break_id
),
latest_action AS (
    SELECT *
    FROM actions
    QUALIFY row_number() OVER (PARTITION BY break_id ORDER BY number DESC) = 1
)
SELECT
    l.break_id, l."check", l.severity, l.key,
    CASE
        WHEN r.resolved_on IS NOT NULL THEN 'resolved'
        WHEN a.action = 'snooze' AND a.until >= $today THEN 'snoozed'
        WHEN a.action = 'ack' THEN 'acknowledged'
        WHEN l.expected THEN 'expected'
        ELSE 'open'
    END AS state,
    s.first_seen, l.run_date AS last_seen, r.resolved_on, s.nights,
    round(
        date_diff(
            'second',
            coalesce(l.created_at, CAST(s.first_seen AS TIMESTAMP)),
            CAST(l.run_date + 1 AS TIMESTAMP)
        ) / 3600, 1
    ) AS age_hours,
    l.order_id, l.ledger_entry_id, l.transaction_id, l.reference, l.currency,
    l.starship_amount, l.ledger_amount, l.delta, l.starship_status, l.ledger_status,
    l.created_at, l.detail,
    CASE WHEN a.action IN ('ack', 'snooze') THEN a.note END AS note,
    CASE WHEN a.action = 'snooze' THEN a.until END AS snoozed_until,
    CASE WHEN a.action IN ('ack', 'snooze') THEN a.by_user END AS noted_by,
    CASE WHEN a.action IN ('ack', 'snooze') THEN a.acted_at END AS noted_at
FROM latest AS l
JOIN seen AS s USING (break_id)
LEFT JOIN resolution AS r USING (break_id)
LEFT JOIN latest_action AS a USING (break_id)
ORDER BY list_position(['error', 'warning', 'info'], l.severity), l."check", s.first_seen, l.key
