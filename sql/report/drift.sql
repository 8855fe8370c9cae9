-- How far the partner's books are from Starship's because of one finding, signed as ledger
-- minus Starship (the sign of `delta` in amount_mismatch): an order the ledger lacks is
-- -its total, an entry Starship has no order for is +its amount. Checks about the wallet, the
-- balance chain or statuses are not a books drift and give NULL; the report counts their
-- amounts in the money at risk instead.
CREATE OR REPLACE TEMP MACRO drift("check", delta, starship_amount, ledger_amount) AS
    CASE "check"
        WHEN 'amount_mismatch' THEN delta
        WHEN 'missing_in_ledger' THEN -starship_amount
        WHEN 'duplicate_order' THEN -starship_amount
        WHEN 'missing_at_starship' THEN ledger_amount
        WHEN 'duplicate_ledger_entry' THEN ledger_amount
    END;

-- The money one finding puts at risk, whatever its sign: the drift when it has one, else the
-- size of its difference (a wallet movement that does not net, a gap in the balance chain), else
-- the amount of the order concerned. A low wallet balance or a short runway risks nothing
-- already spent.
CREATE OR REPLACE TEMP MACRO at_risk("check", delta, starship_amount, ledger_amount) AS
    CASE
        WHEN "check" IN ('low_wallet_balance', 'wallet_runway', 'unknown_status') THEN NULL
        ELSE abs(coalesce(
            drift("check", delta, starship_amount, ledger_amount),
            delta, starship_amount, ledger_amount))
    END;
