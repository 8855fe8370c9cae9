-- The amount mismatches a setting would explain: per factor 10^n, how many amount_mismatch
-- findings have the ledger's amount exactly the charge times it (n = 0 the same size), and
-- whether the signs are opposite. Amounts read in the wrong unit are off by a power of ten
-- (the `units` cause; each currency by its own minor unit: 100 for USD, 1,000 for KWD), read
-- with the wrong purchase_sign they are negated (the `sign` cause).
WITH pairs AS (
    SELECT abs(ledger_amount) AS l, abs(starship_amount) AS s,
        sign(ledger_amount) <> sign(starship_amount) AS flipped
    FROM findings
    WHERE "check" = 'amount_mismatch' AND NOT expected
        AND ledger_amount <> 0 AND starship_amount <> 0
)
SELECT n, flipped, count(*)
FROM pairs, (SELECT unnest(range(-4, 5)) AS n)
WHERE CASE WHEN n >= 0 THEN l = s * CAST(10 ** n AS DECIMAL(18, 0))
    ELSE s = l * CAST(10 ** -n AS DECIMAL(18, 0)) END
GROUP BY ALL
