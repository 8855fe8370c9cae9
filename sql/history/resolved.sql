-- The breaks night $day resolved, each as its last finding (with the night it was seen): the
-- report lists them beside the night's findings, as what closed.
SELECT f.*
FROM resolutions AS r
JOIN open_before($day) AS f USING (break_id)
WHERE r.run_date = $day
ORDER BY f."check", f.key
