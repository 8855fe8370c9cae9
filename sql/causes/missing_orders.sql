-- How many of the day's orders the ledger lacks that the cut-off grace does not explain: the
-- `file` and `zone` causes start from them.
SELECT count(*) FROM findings WHERE "check" = 'missing_in_ledger' AND NOT expected
