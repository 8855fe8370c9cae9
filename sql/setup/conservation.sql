-- Conservation: the counts that show every input row is matched, reported or quarantined.
--
-- One row: the ledger rows tonight judges (matches), those matched as a sale or reversal, those
-- a check that accounts for entries reports, the quarantined rows; D's orders in the lake, those
-- the facts judged, those the stream books, and those a check that accounts for orders reports.
-- Binds $entries and $orders, the checks whose header says `-- Accounts for: entries` (or
-- orders). D's orders carry whether the stream books them (facts.sql): no second pass over the
-- orders; the reported rows and orders are the few in the findings.
SELECT
    (SELECT count(*) FROM matches),
    (SELECT count(*) FROM matches WHERE role IN ('sale', 'reversal')),
    (SELECT count(*) FROM matches WHERE row_id IN (
        SELECT row_id FROM findings
        WHERE "check" IN (SELECT unnest($entries)))),
    (SELECT count(*) FROM quarantine),
    (SELECT count(*) FROM orders_day),
    count(*),
    count(*) FILTER (WHERE booked),
    count(*) FILTER (WHERE NOT booked AND order_id IN (
        SELECT order_id FROM findings
        WHERE "check" IN (SELECT unnest($orders))))
FROM order_facts
WHERE on_day
