-- How each usable ledger row found its Starship order, if it did.
--
-- The cascade: Starship's `order_id` first; then the partner's own reference, which the API
-- echoes as `client_reference` (a row booked before the order's response came back has no order
-- id). `match_method` records which. Orders of any day in the lake up to D can match, so an
-- order placed just before midnight and booked on the next day's export is found.
--
-- One ledger row books an order (`booking` = 1); any later row for the same order, or a repeat
-- of an entry id, is a duplicate ledger entry and is reported, not matched.
CREATE OR REPLACE TEMP TABLE matches AS
WITH repeated_entry_ids AS (
    SELECT entry_id FROM ledger GROUP BY entry_id HAVING count(*) > 1
),
repeats AS (  -- ranked apart: sorting every entry to find the few repeated ones is slow
    SELECT line, row_number() OVER (PARTITION BY entry_id ORDER BY line) AS entry_rank
    FROM ledger
    SEMI JOIN repeated_entry_ids USING (entry_id)
),
entries AS (
    SELECT l.line, l.entry_id, l.order_id, l.reference, coalesce(r.entry_rank, 1) AS entry_rank
    FROM ledger AS l
    LEFT JOIN repeats AS r USING (line)
),
by_order_id AS (
    SELECT e.line, o.order_id, 'order_id' AS match_method
    FROM entries AS e
    JOIN orders_all AS o ON o.order_id = e.order_id
    WHERE e.entry_rank = 1
),
unmatched AS (  -- few rows: set apart first, so only they are joined on the reference
    SELECT e.line, e.reference
    FROM entries AS e
    ANTI JOIN by_order_id USING (line)
    WHERE e.entry_rank = 1 AND e.reference IS NOT NULL
),
by_reference AS (
    SELECT e.line, o.order_id, 'reference' AS match_method
    FROM unmatched AS e
    JOIN orders_all AS o ON o.client_reference = e.reference
    ANTI JOIN by_order_id AS b ON b.order_id = o.order_id
    QUALIFY row_number() OVER (PARTITION BY e.line ORDER BY o.created_at, o.order_id) = 1
),
found AS (
    SELECT * FROM by_order_id
    UNION ALL
    SELECT * FROM by_reference
),
booked_twice AS (
    SELECT order_id FROM found GROUP BY order_id HAVING count(*) > 1
),
bookings AS (
    SELECT line, row_number() OVER (PARTITION BY order_id ORDER BY line) AS booking
    FROM found
    SEMI JOIN booked_twice USING (order_id)
)
SELECT
    e.line,
    e.entry_rank,
    f.order_id,
    f.match_method,
    CASE WHEN f.order_id IS NOT NULL THEN coalesce(b.booking, 1) END AS booking
FROM entries AS e
LEFT JOIN found AS f USING (line)
LEFT JOIN bookings AS b USING (line);

-- Matched pairs: the booking ledger row beside its Starship order (kept: three checks read it).
CREATE OR REPLACE TEMP TABLE pairs AS
SELECT
    l.line,
    l.entry_id,
    l.amount AS ledger_amount,
    l.currency AS ledger_currency,
    l.status AS ledger_status,
    m.match_method,
    o.order_id,
    o.client_reference,
    o.total_amount,
    o.currency,
    o.status,
    o.sub_status,
    o.created_at,
    o.trace_id
FROM matches AS m
JOIN ledger AS l USING (line)
JOIN orders_all AS o ON o.order_id = m.order_id
WHERE m.booking = 1;

-- Surplus orders for one partner reference (a retry without the original Idempotency-Key):
-- the order the ledger booked is the original, else the earliest; every other order of D with
-- that reference is a duplicate. References are grouped first, so only shared ones are sorted.
CREATE OR REPLACE TEMP TABLE duplicate_orders AS
WITH shared AS (
    SELECT client_reference
    FROM orders_all
    WHERE client_reference <> ''
    GROUP BY client_reference
    HAVING count(*) > 1
),
copies AS (
    SELECT
        o.order_id,
        o.created_at,
        row_number() OVER same_reference AS copy,
        first_value(o.order_id) OVER same_reference AS original_order_id
    FROM orders_all AS o
    SEMI JOIN shared USING (client_reference)
    WINDOW same_reference AS (
        PARTITION BY o.client_reference
        ORDER BY o.order_id NOT IN (SELECT order_id FROM matches WHERE booking = 1),
            o.created_at, o.order_id
    )
)
SELECT order_id, original_order_id
FROM copies
WHERE copy > 1 AND created_at >= $day_start AND created_at < $day_end;
