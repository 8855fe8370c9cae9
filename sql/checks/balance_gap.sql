-- balance_gap (error): the wallet's running balance does not chain.
--
-- Why it matters: each transaction's `balance_after` should be the previous balance plus its
-- amount. When it is not, movements are missing from GET /transactions (or were changed), so
-- every other wallet check is working from an incomplete list. What to do: re-extract the
-- date; if the gap stays, ask Starship for the missing movement, quoting the transaction id.
--
-- Scope: the transactions of D, each chained to the one before it in its currency (which may
-- be on an earlier day of the window). `delta` is the unexplained difference.
WITH chained AS (
    SELECT
        *,
        lag(balance_after) OVER (
            PARTITION BY currency ORDER BY created_at, transaction_id
        ) AS previous_balance
    FROM transactions_all
    WHERE created_at >= $window_start AND balance_after IS NOT NULL
)
SELECT
    transaction_id AS key,
    transaction_id,
    order_id,
    currency,
    amount AS starship_amount,
    balance_after - (previous_balance + amount) AS delta,
    created_at,
    trace_id,
    type || ' of ' || money(amount, currency) || ' took the balance from '
        || money(previous_balance, currency) || ' to ' || money(balance_after, currency) AS detail
FROM chained
WHERE created_at >= $day_start AND created_at < $day_end
    AND balance_after <> previous_balance + amount
