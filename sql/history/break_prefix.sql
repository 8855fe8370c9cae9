-- The breaks whose id starts with $prefix: an analyst types a few characters of an id, and
-- an action is recorded only when they name exactly one break.
SELECT DISTINCT break_id FROM findings WHERE starts_with(break_id, $prefix)
