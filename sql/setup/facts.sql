-- The facts about each order that several checks judge, computed in one pass over the orders
-- and one over the transactions, so that no check joins the big tables again.
--
-- `order_facts`: the orders a night looks at (created on D; created inside the look-back window
-- with a movement on D; or with a break still open from an earlier night, `carried`), each with
-- what the checks compare (status, currency, total, delivered items, wallet net; the columns a
-- finding only reports, its reference, sub-status and trace id, are looked up in `orders_all`
-- for the few that break), and:
--   listed       Starship lists the order: false for an order id only a movement of D names
--                (its other columns NULL);
--   on_day       created on D: the orders conservation counts;
--   booked       a row of the ledger's stream books it (`found`), on any night's export;
--   duplicate    a surplus order for a partner reference (`duplicate_orders`);
--   carried_as   the checks its open breaks are carried by (an empty list when none).
-- missing_in_ledger, wallet_mismatch and conservation filter these rows.

CREATE OR REPLACE TEMP TABLE order_facts AS
WITH movements AS (
    SELECT
        order_id,
        sum(amount) AS net,
        count(*) AS movements,
        bool_or(created_at >= $day_start AND created_at < $day_end) AS moved_on_day
    FROM transactions_all
    WHERE order_id IS NOT NULL
    GROUP BY order_id
),
carried_orders AS (
    SELECT order_id, list("check") AS carried_as FROM carried GROUP BY order_id
),
scoped AS (
    SELECT
        coalesce(o.order_id, m.order_id) AS order_id,
        o.order_id IS NOT NULL AS listed,
        o.currency, o.total_amount, o.status, o.quantity, o.delivered_item_count, o.created_at,
        coalesce(o.created_at >= $day_start AND o.created_at < $day_end, false) AS on_day,
        coalesce(m.net, 0) AS net,
        coalesce(m.movements, 0) AS movements,
        coalesce(m.moved_on_day, false) AS moved_on_day
    FROM orders_all AS o
    FULL JOIN movements AS m ON m.order_id = o.order_id
),
in_scope AS (
    SELECT s.*, coalesce(c.carried_as, []) AS carried_as
    FROM scoped AS s
    LEFT JOIN carried_orders AS c USING (order_id)
    WHERE s.on_day
        OR (s.moved_on_day AND (NOT s.listed OR s.created_at >= $window_start))
        OR c.order_id IS NOT NULL
)
SELECT
    *,
    order_id IN (SELECT order_id FROM found WHERE order_id IS NOT NULL) AS booked,
    order_id IN (SELECT order_id FROM duplicate_orders) AS duplicate
FROM in_scope;
