-- wallet_mismatch (error): the wallet movements for an order do not net to what its status says.
--
-- Why it matters: the wallet is prepaid money. A cancelled order whose refund never came
-- (NOT_REFUNDED), a refund twice, or a debit for an order Starship does not list are all money
-- the partner is owed or owes. What to do: Flag NOT_REFUNDED for ops; open a ticket with
-- Starship quoting the order, the transaction ids and the trace id.
--
-- NOT_REFUNDED's action is the one Starship's order lifecycle gives (docs/starship-api.md, Order lifecycle).
--
-- Expected net per order: minus the total, and once cancelled or failed, what Starship keeps:
-- nothing (debit and refund), or for an order cancelled after a partial delivery the share of
-- the items it delivered (macros.sql's delivered_share: total x delivered / quantity, rounded
-- half-up to the minor unit), the rest refunded. Scope: orders of D, orders with a movement on
-- D (a late refund), and open breaks from earlier nights (`carried`); only orders created
-- inside the look-back window, whose debit the lake holds.
WITH expectations AS (  -- the orders' facts hold the wallet's net (setup/facts.sql)
    SELECT
        f.*,
        CASE
            WHEN c.ledger_status = 'CANCELLED' THEN -cancelled_keeps(
                f.status, f.total_amount, f.delivered_item_count, f.quantity, f.currency
            )
            ELSE -f.total_amount
        END AS expected_net
    FROM order_facts AS f
    LEFT JOIN status_classes AS c ON c.status = f.status
    WHERE f.listed AND f.created_at >= $window_start
        AND (f.on_day OR f.moved_on_day OR list_contains(f.carried_as, 'wallet_mismatch'))
),
broken AS (
    SELECT * FROM expectations WHERE net <> expected_net
)
SELECT
    b.order_id AS key,
    b.order_id,
    o.client_reference AS reference,
    b.currency,
    b.total_amount AS starship_amount,
    b.net - b.expected_net AS delta,
    b.status AS starship_status,
    o.sub_status AS starship_sub_status,
    b.created_at,
    o.trace_id,
    'wallet movements net ' || money(b.net, b.currency) || ' over ' || b.movements
        || ' transaction(s); expected ' || money(b.expected_net, b.currency) AS detail
FROM broken AS b
-- the columns a finding only reports, looked up for the few: a semi join builds on them
JOIN (SELECT * FROM orders_all SEMI JOIN broken USING (order_id)) AS o USING (order_id)

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
SEMI JOIN (SELECT order_id FROM order_facts WHERE NOT listed) AS unlisted USING (order_id)
