-- Which of the full break $ids any night found: a batch of actions (a sheet's) is refused
-- whole if one names a break the history does not know.
SELECT DISTINCT break_id FROM findings WHERE break_id IN (SELECT unnest($ids))
