-- A business day cut in another zone than `[ledger] business_day_timezone` says misses a band
-- of orders at one end of the day ($start to $end): every order created up to the last
-- missing one (or from the first) is missing, and the day's others are not. The day's orders,
-- the missing ones, the first and last of those, and how many orders were created up to the
-- last and from the first: the `zone` cause holds when one of those two counts only missing
-- orders.
WITH day AS (
    SELECT o.created_at, m.order_id IS NOT NULL AS missing
    FROM orders_all AS o
    LEFT JOIN (
        SELECT DISTINCT order_id FROM findings
        WHERE "check" = 'missing_in_ledger' AND NOT expected
    ) AS m USING (order_id)
    WHERE o.created_at >= $start AND o.created_at < $end
),
band AS (
    SELECT count(*) AS orders, count(*) FILTER (WHERE missing) AS missing,
        min(created_at) FILTER (WHERE missing) AS first,
        max(created_at) FILTER (WHERE missing) AS last
    FROM day
)
SELECT orders, missing, first, last,
    (SELECT count(*) FROM day WHERE created_at <= last),
    (SELECT count(*) FROM day WHERE created_at >= first)
FROM band
