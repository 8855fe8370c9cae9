-- low_wallet_balance (warning): a wallet is below its configured floor.
--
-- Why it matters: orders against an empty prepaid wallet fail (PAYMENT_REQUIRED), so
-- tomorrow's customers get no vouchers. What to do: top the wallet up before the floor is
-- reached; the floors live in [checks.low_wallet_balance].
--
-- Starship's integration journey asks for this alert (docs/starship-api.md, Integration journey).
--
-- Scope: the wallets snapshot taken when D was extracted.
SELECT
    w.currency AS key,
    w.currency,
    w.balance AS starship_amount,
    w.balance - f.floor AS delta,
    w.trace_id,
    'balance ' || money(w.balance, w.currency) || ' is below the floor of '
        || money(f.floor, w.currency) AS detail
FROM wallets_day AS w
JOIN floors AS f USING (currency)
WHERE w.balance < f.floor
