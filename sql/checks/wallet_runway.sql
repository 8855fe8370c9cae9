-- wallet_runway (warning): at the last days' rate of spend, a wallet runs out within the notice.
--
-- Why it matters: orders against an empty prepaid wallet fail, so tomorrow's customers get no
-- vouchers; a fixed floor is no notice when spend doubles before a holiday. What to do: top the
-- wallet up before the day it runs out; the delta is what it takes to get the notice back. The
-- notice and the window of the rate live in [checks] wallet_runway_days (default 2; 0: never)
-- and wallet_runway_window_days (default 7).
--
-- Scope: each currency's balance at the end of D against its net spend over the window ending
-- on D (setup/runway.sql says how both are counted). A wallet with no spend has no runway.
-- `delta` is the balance minus the notice's worth of spend at the daily rate.
SELECT
    currency AS key,
    currency,
    balance AS starship_amount,
    balance - daily_spend * $runway_days AS delta,
    trace_id,
    'balance ' || money(balance, currency) || ' at the end of the day lasts ' || days_left
        || ' day(s) at ' || money(daily_spend, currency) || ' a day (the net spend of '
        || rate_days || ' day(s)): runs out on ' || runs_out || ', inside the '
        || $runway_days || '-day notice' AS detail
FROM runway
WHERE short
