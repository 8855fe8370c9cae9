-- The input rows night $day could not use, in file order, for the report and the sheet.
SELECT source, line, entry_id, reason, raw
FROM quarantine
WHERE run_date = $day
ORDER BY source, line
