-- balance_gap (error): the wallet's running balance does not chain.
--
-- Why it matters: each transaction's `balance_after` should be the previous balance plus its
-- amount. When it is not, movements are missing from GET /transactions (or were changed), so
-- every other wallet check is working from an incomplete list. What to do: re-extract the
-- date; if the gap stays, ask Starship for the missing movement, quoting the transaction id.
--
-- Scope: the transactions of D, each chained to the one before it in its currency (which may
-- be on an earlier day of the window). `delta` is the unexplained difference.
--
-- The chain is sorted with only the columns it compares, and only D's transactions and the
-- last one before D in each currency, found by two group-bys (no sort, and the window's
-- transactions never held as one relation: at 10M a night they outgrow the memory limit).
-- The rows that break it are joined back for the rest of their columns.
WITH latest_before AS (  -- the time of each currency's last movement before D
    SELECT currency, max(created_at) AS created_at
    FROM transactions_all
    WHERE created_at >= $window_start AND created_at < $day_start AND balance_after IS NOT NULL
    GROUP BY currency
),
last_before AS (  -- that movement; of two at the same moment, the greater id
    SELECT t.transaction_id, t.currency, t.created_at, t.amount, t.balance_after
    FROM transactions_all AS t
    JOIN latest_before AS l ON l.currency = t.currency AND l.created_at = t.created_at
    WHERE t.balance_after IS NOT NULL
    QUALIFY row_number() OVER (PARTITION BY t.currency ORDER BY t.transaction_id DESC) = 1
),
chained AS (
    SELECT
        *,
        lag(balance_after) OVER (
            PARTITION BY currency ORDER BY created_at, transaction_id
        ) AS previous_balance
    FROM (
        SELECT transaction_id, currency, created_at, amount, balance_after
        FROM transactions_all
        WHERE created_at >= $day_start AND balance_after IS NOT NULL
        UNION ALL
        SELECT * FROM last_before
    )
),
gaps AS (
    SELECT transaction_id, previous_balance
    FROM chained
    WHERE created_at >= $day_start AND created_at < $day_end
        AND balance_after <> previous_balance + amount
)
SELECT
    t.transaction_id AS key,
    t.transaction_id,
    t.order_id,
    t.currency,
    t.amount AS starship_amount,
    t.balance_after - (g.previous_balance + t.amount) AS delta,
    t.created_at,
    t.trace_id,
    t.type || ' of ' || money(t.amount, t.currency) || ' took the balance from '
        || money(g.previous_balance, t.currency) || ' to ' || money(t.balance_after, t.currency)
        AS detail
FROM transactions_day AS t
JOIN gaps AS g USING (transaction_id)
