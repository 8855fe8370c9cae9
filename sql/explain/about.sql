-- The findings, on any night, about what resolve.sql found the id reaches: the temp table
-- `about`, which findings.sql, breaks.sql and actions.sql read.
--
-- Binds the lists $orders, $entries, $references, $transactions and $breaks.
CREATE OR REPLACE TEMP TABLE about AS
SELECT * FROM findings
WHERE order_id IN (SELECT unnest($orders))
    OR ledger_entry_id IN (SELECT unnest($entries))
    OR reference IN (SELECT unnest($references))
    OR break_id IN (SELECT unnest($breaks))
    OR transaction_id IN (SELECT unnest($transactions))
