-- The orders created before $before that a break open when night $day begins is about, in any
-- state (acknowledged and snoozed breaks are still open), by order id: the night reads them
-- again from Starship. The second column says whether one of its breaks is of the $checks
-- that look again every night, which a fresh status of the order can resolve.
-- An order's age is its finding's `created_at`: a finding without one (a ledger entry Starship
-- has no order for) names no order Starship could be asked about.
SELECT order_id, bool_or("check" IN (SELECT unnest($checks)))
FROM open_before($day)
WHERE order_id IS NOT NULL AND created_at < $before
GROUP BY order_id
ORDER BY order_id
