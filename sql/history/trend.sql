-- The last $nights nights diffed up to $day, oldest first. Per night: its findings per severity
-- (errors, warnings, infos: all of them, explained or not); how many of its errors and warnings
-- nothing explains, counted as history/canary.sql counts them and history/states.sql gives
-- that night its states (not expected, not acknowledged, not snoozed until that night or
-- later); and the net drift per currency (report/drift.sql) as a map, of all its findings
-- (`drift`) and of those nothing explains (`unexplained_drift`, as the verdict nets it). The
-- report's trend and the notebook's trend() read it.
WITH nights AS (
    SELECT run_date FROM runs WHERE run_date <= $day
    ORDER BY run_date DESC LIMIT $nights
),
latest_action AS (
    SELECT *
    FROM actions
    QUALIFY row_number() OVER (PARTITION BY break_id ORDER BY number DESC) = 1
),
judged AS (
    SELECT f.*,
        NOT coalesce(f.expected, false)
            AND coalesce(a.action, '') <> 'ack'
            AND NOT coalesce(a.action = 'snooze' AND a.until >= f.run_date, false)
            AS unexplained
    FROM findings AS f
    LEFT JOIN latest_action AS a USING (break_id)
    WHERE f.run_date IN (SELECT run_date FROM nights)
),
severities AS (
    SELECT run_date,
        count(*) FILTER (WHERE severity = 'error') AS errors,
        count(*) FILTER (WHERE severity = 'warning') AS warnings,
        count(*) FILTER (WHERE severity = 'info') AS infos,
        count(*) FILTER (WHERE severity = 'error' AND unexplained) AS unexplained_errors,
        count(*) FILTER (WHERE severity = 'warning' AND unexplained) AS unexplained_warnings
    FROM judged
    GROUP BY run_date
),
per_currency AS (
    SELECT run_date, currency,
        sum(drift("check", delta, starship_amount, ledger_amount)) AS net,
        sum(drift("check", delta, starship_amount, ledger_amount)) FILTER (WHERE unexplained)
            AS unexplained_net
    FROM judged
    WHERE currency IS NOT NULL
    GROUP BY ALL
    HAVING net IS NOT NULL
),
drifts AS (
    SELECT run_date,
        map(list(currency ORDER BY currency), list(net ORDER BY currency)) AS drift,
        map(
            list(currency ORDER BY currency) FILTER (WHERE unexplained_net IS NOT NULL),
            list(unexplained_net ORDER BY currency) FILTER (WHERE unexplained_net IS NOT NULL)
        ) AS unexplained_drift
    FROM per_currency
    GROUP BY run_date
)
SELECT
    n.run_date,
    coalesce(s.errors, 0) AS errors,
    coalesce(s.warnings, 0) AS warnings,
    coalesce(s.infos, 0) AS infos,
    coalesce(s.unexplained_errors, 0) AS unexplained_errors,
    coalesce(s.unexplained_warnings, 0) AS unexplained_warnings,
    d.drift,
    d.unexplained_drift
FROM nights AS n
LEFT JOIN severities AS s USING (run_date)
LEFT JOIN drifts AS d USING (run_date)
ORDER BY n.run_date
