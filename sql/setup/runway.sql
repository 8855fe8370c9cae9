-- Each wallet's runway at the end of D: how many days its balance lasts at the recent rate of
-- spend. `runway`, one row per currency, is what the wallet_runway check filters and what the
-- report's wallet panel shows.
--
-- Spend is what left the wallet for orders, net of what came back: debits and refunds, and any
-- other movement out (a fee, a negative adjustment); a credit for no order (a top-up) is not
-- spend. The rate is the net spend of the window (D and the days before it, [checks]
-- wallet_runway_window_days) over the days it rests on: the extracted days of the window, from
-- the wallet's first movement in the lake on (a wallet opened on Tuesday has a rate of the days
-- since Tuesday, not a week's rate diluted by days before it existed). The balance is the last
-- `balance_after` before D ends, else the wallets snapshot of D.
--
-- Money is exact: the comparison and the days left are worked in whole 1/10,000ths (the lake's
-- DECIMAL(18, 4)) with integer division, because DuckDB divides decimals as DOUBLE. Days left are
-- rounded down to a tenth, never up: a runway is never shown longer than it is; the day it runs
-- out is the day the balance no longer covers a day's spend, D + ceil(balance / rate).
CREATE OR REPLACE TEMP TABLE runway AS
WITH moved AS (  -- one pass over the transactions
    SELECT
        currency,
        -coalesce(sum(amount) FILTER (
            WHERE created_at >= $runway_start AND (order_id IS NOT NULL OR amount < 0)
        ), 0) AS spent,
        min(created_at)::DATE AS first_movement,
        arg_max(balance_after, row(created_at, transaction_id))
            FILTER (WHERE balance_after IS NOT NULL) AS closing,
        arg_max(trace_id, row(created_at, transaction_id))
            FILTER (WHERE balance_after IS NOT NULL) AS closing_trace_id
    FROM transactions_all
    WHERE created_at < $day_end
    GROUP BY currency
),
wallets AS (
    SELECT
        coalesce(m.currency, w.currency) AS currency,
        coalesce(m.closing, w.balance) AS balance,
        CASE WHEN m.closing IS NOT NULL THEN m.closing_trace_id ELSE w.trace_id END AS trace_id,
        coalesce(m.spent, 0) AS spent,
        (
            SELECT count(*)
            FROM transaction_days AS t
            WHERE t.day >= $runway_start::DATE AND t.day < $day_end::DATE
                AND (m.first_movement IS NULL OR t.day >= m.first_movement)
        ) AS rate_days
    FROM moved AS m
    FULL JOIN wallets_day AS w USING (currency)
),
units AS (  -- in 1/10,000ths, exact
    SELECT
        *,
        CAST(balance * 10000 AS HUGEINT) AS balance_units,
        CAST(spent * 10000 AS HUGEINT) AS spent_units,
        spent > 0 AND rate_days > 0 AND balance IS NOT NULL AS has_rate  -- else no runway
    FROM wallets
    WHERE currency IS NOT NULL
)
SELECT
    u.currency,
    u.balance,
    u.spent,
    u.rate_days,
    u.trace_id,
    CASE WHEN u.has_rate THEN to_minor_unit(
        CAST(u.spent_units // u.rate_days AS DECIMAL(18, 0)) * 0.0001, c.exponent
    ) END AS daily_spend,
    CASE
        WHEN NOT u.has_rate THEN NULL
        WHEN u.balance_units <= 0 THEN CAST(0 AS DECIMAL(18, 1))
        ELSE CAST(
            u.balance_units * u.rate_days * 10 // u.spent_units AS DECIMAL(18, 0)
        ) * 0.1
    END AS days_left,
    CASE
        WHEN NOT u.has_rate THEN NULL
        WHEN u.balance_units <= 0 THEN $day_start::DATE
        ELSE $day_start::DATE + CAST(
            (u.balance_units * u.rate_days + u.spent_units - 1) // u.spent_units AS INTEGER
        )
    END AS runs_out,
    $runway_days > 0 AND u.has_rate
        AND u.balance_units * u.rate_days < $runway_days * u.spent_units AS short,
    f.floor
FROM units AS u
LEFT JOIN currencies AS c ON c.code = u.currency
LEFT JOIN floors AS f USING (currency);
