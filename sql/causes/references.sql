-- The ledger's order ids Starship has no order for, and how many of them are the client
-- references of Starship orders: nearly all are when the column mapped as the order id holds
-- the partner's references (the `swap` cause, ledger.columns.order_id and .reference crossed).
SELECT
    count(*),
    count(*) FILTER (
        WHERE order_id IN (
            SELECT client_reference FROM orders_all WHERE client_reference IS NOT NULL
        )
    )
FROM findings
WHERE "check" = 'missing_at_starship' AND order_id IS NOT NULL
