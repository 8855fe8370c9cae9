-- The night's quarantined rows per reason: nearly every row quarantined for one reason is a
-- setting (a column mapped to the wrong one, the amounts read in the wrong unit), not bad
-- rows. causes.REASON_KEYS names the key each reason points to.
SELECT reason, count(*) FROM quarantine GROUP BY reason
