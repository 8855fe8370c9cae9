-- What analysts said of the breaks those findings are, oldest first.
SELECT acted_at, break_id, action, note, until, by_user
FROM actions
WHERE break_id IN (SELECT DISTINCT break_id FROM about)
ORDER BY number
