-- wallet_mismatch (error): the wallet movements for an order do not net to what its status says.
--
-- Why it matters: the wallet is prepaid money. A cancelled order whose refund never came
-- (NOT_REFUNDED), a refund twice, or a debit for an order Starship does not list are all money
-- the partner is owed or owes. What to do: seed 004 says flag NOT_REFUNDED for ops; open a
-- ticket with Starship quoting the order, the transaction ids and the trace id.
--
-- Expected net per order: minus the total, and once cancelled or failed, what Starship keeps:
-- nothing (debit and refund), or for an order cancelled after a partial delivery the share of
-- the items it delivered (macros.sql's delivered_share: total x delivered / quantity, rounded
-- half-up to the minor unit), the rest refunded. Scope: orders of D, orders with a movement on
-- D (a late refund), and open breaks
-- from earlier nights (`carried`); only orders created inside the look-back window, whose
-- debit the lake holds.
WITH movements AS (  -- one pass over the transactions: cheaper than first listing the scope
    SELECT
        order_id,
        sum(amount) AS net,
        count(*) AS movements,
        bool_or(created_at >= $day_start AND created_at < $day_end) AS moved_on_day
    FROM transactions_all
    WHERE order_id IS NOT NULL
    GROUP BY order_id
),
expectations AS (
    SELECT
        o.*,
        coalesce(m.net, 0) AS net,
        coalesce(m.movements, 0) AS movements,
        CASE
            WHEN c.ledger_status = 'CANCELLED' THEN -cancelled_keeps(
                o.status, o.total_amount, o.delivered_item_count, o.quantity, o.currency
            )
            ELSE -o.total_amount
        END AS expected_net
    FROM orders_all AS o
    LEFT JOIN movements AS m USING (order_id)
    LEFT JOIN status_classes AS c ON c.status = o.status
    WHERE o.created_at >= $window_start
        AND (
            (o.created_at >= $day_start AND o.created_at < $day_end)
            OR m.moved_on_day
            OR o.order_id IN (SELECT order_id FROM carried WHERE "check" = 'wallet_mismatch')
        )
)
SELECT
    order_id AS key,
    order_id,
    client_reference AS reference,
    currency,
    total_amount AS starship_amount,
    net - expected_net AS delta,
    status AS starship_status,
    sub_status AS starship_sub_status,
    created_at,
    trace_id,
    'wallet movements net ' || money(net, currency) || ' over ' || movements
        || ' transaction(s); expected ' || money(expected_net, currency) AS detail
FROM expectations
WHERE net <> expected_net

UNION ALL BY NAME

-- A movement for an order Starship does not list at all.
SELECT
    t.transaction_id AS key,
    t.transaction_id,
    t.order_id,
    t.currency,
    t.amount AS starship_amount,
    t.created_at,
    t.trace_id,
    t.type || ' for an order Starship does not list' AS detail
FROM transactions_day AS t
WHERE t.order_id IS NOT NULL AND t.order_id NOT IN (SELECT order_id FROM orders_all)
