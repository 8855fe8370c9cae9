-- The wallet's movements for the orders the id reaches, or the transactions it names.
-- Binds $orders, $transactions.
SELECT * EXCLUDE (dataset) FROM transactions_seen
WHERE order_id IN (SELECT unnest($orders))
    OR transaction_id IN (SELECT unnest($transactions))
ORDER BY created_at, transaction_id
