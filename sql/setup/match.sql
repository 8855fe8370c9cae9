-- How each usable ledger row found its Starship order, and what it books for it.
--
-- The cascade: Starship's `order_id` first; then the partner's own reference, which the API
-- echoes as `client_reference` (a row booked before the order's response came back has no order
-- id). `match_method` records which. Orders of any day in the lake up to D can match, so an
-- order placed just before midnight and booked on the next day's export is found.
--
-- The ledger's rows are movements. An order's bookings, across the look-back window's exports
-- (`ledger_memory`, kept in the lake) and D's (`ledger`), in export order then line order:
--   the first is the sale (`role` = 'sale');
--   a later row whose status maps to CANCELLED, the order not yet cancelled in the books, is
--   its reversal ('reversal': amount negated or unchanged; a refunded cancellation nets to 0);
--   any other later row is a second sale or a second reversal ('duplicate'), reported as a
--   duplicate ledger entry, as is a repeat of an entry id within D's export or from an earlier
--   one (`entry_rank` > 1).
-- Except: when the first is CANCELLED and the order was created before the look-back window
-- (`older_than_window`), its sale is on an export older than the memory, so that first row is
-- the reversal. (A CANCELLED first row of a younger order is a sale booked in its end-of-day
-- state: the memory holds the whole life of such an order.)

-- The earlier exports' rows, matched the same way (orders of the lake up to D).
CREATE OR REPLACE TEMP TABLE earlier_bookings AS
WITH by_order_id AS (
    SELECT m.*, o.order_id AS matched_order_id, o.created_at < $window_start AS older_than_window
    FROM ledger_memory AS m
    JOIN orders_all AS o ON o.order_id = m.order_id
),
by_reference AS (
    SELECT m.*, o.order_id AS matched_order_id, o.created_at < $window_start AS older_than_window
    FROM ledger_memory AS m
    JOIN orders_all AS o ON o.client_reference = m.reference
    ANTI JOIN by_order_id AS b ON b.export_date = m.export_date AND b.line = m.line
    QUALIFY row_number() OVER (
        PARTITION BY m.export_date, m.line ORDER BY o.created_at, o.order_id
    ) = 1
)
SELECT
    export_date, source, line, entry_id, matched_order_id AS order_id, amount, currency, status,
    older_than_window
FROM (SELECT * FROM by_order_id UNION ALL SELECT * FROM by_reference);

-- D's usable rows, each beside the Starship order it matched (NULLs when none): the one wide
-- relation the checks read, so that no check joins the ledger or the orders again. The
-- ledger's side: line, entry_id, booked_order_id (the export's order id text), reference,
-- ledger_amount, ledger_currency, ledger_status, ledger_booked_at, entry_rank; the order's:
-- order_id, client_reference, total_amount, currency, status, sub_status, created_at,
-- trace_id, older_than_window; and match_method. Built in two steps: every entry beside the order its
-- order id names (one join of all the rows), then the few that named none, by reference.
CREATE OR REPLACE TEMP TABLE found AS
WITH remembered_entry_ids AS (  -- booked on an earlier export already
    SELECT DISTINCT entry_id FROM ledger SEMI JOIN ledger_memory USING (entry_id)
),
repeated_entry_ids AS (
    SELECT entry_id FROM ledger GROUP BY entry_id HAVING count(*) > 1
    UNION
    SELECT entry_id FROM remembered_entry_ids
),
repeats AS (  -- ranked apart: sorting every entry to find the few repeated ones is slow
    SELECT
        line,
        row_number() OVER (PARTITION BY entry_id ORDER BY line)
            + (entry_id IN (SELECT entry_id FROM remembered_entry_ids))::INTEGER AS entry_rank
    FROM ledger
    SEMI JOIN repeated_entry_ids USING (entry_id)
),
entries AS (
    SELECT
        l.line, l.entry_id, l.order_id AS booked_order_id, l.reference,
        l.amount AS ledger_amount, l.currency AS ledger_currency, l.status AS ledger_status,
        l.booked_at AS ledger_booked_at, coalesce(r.entry_rank, 1) AS entry_rank
    FROM ledger AS l
    LEFT JOIN repeats AS r USING (line)
)
SELECT
    e.*,
    o.order_id, o.client_reference, o.total_amount, o.currency, o.status, o.sub_status,
    o.created_at, o.trace_id,
    o.created_at < $window_start AS older_than_window,
    CASE WHEN o.order_id IS NOT NULL THEN 'order_id' END AS match_method
FROM entries AS e
LEFT JOIN orders_all AS o ON o.order_id = e.booked_order_id AND e.entry_rank = 1;

-- The entries no order id matched, beside the order their reference names: the earliest, and
-- one the books have not booked by its id already, unless the entry reverses it.
CREATE OR REPLACE TEMP TABLE found_by_reference AS
WITH candidates AS (
    SELECT f.* EXCLUDE (
            order_id, client_reference, total_amount, currency, status, sub_status, created_at,
            trace_id, older_than_window, match_method
        ),
        o.order_id, o.client_reference, o.total_amount, o.currency, o.status, o.sub_status,
        o.created_at, o.trace_id,
        o.created_at < $window_start AS older_than_window,
        'reference' AS match_method
    FROM found AS f
    JOIN orders_all AS o ON o.client_reference = f.reference
    WHERE f.order_id IS NULL AND f.entry_rank = 1 AND f.reference IS NOT NULL
),
booked_by_id AS (  -- looked up for the candidates only: listing every booked order is slow
    SELECT DISTINCT order_id FROM found SEMI JOIN candidates USING (order_id)
)
SELECT c.*
FROM candidates AS c
LEFT JOIN booked_by_id AS b ON b.order_id = c.order_id
WHERE b.order_id IS NULL OR c.ledger_status = 'CANCELLED'
QUALIFY row_number() OVER (
    PARTITION BY c.line ORDER BY b.order_id IS NULL, c.created_at, c.order_id
) = 1;

DELETE FROM found WHERE line IN (SELECT line FROM found_by_reference);

INSERT INTO found BY NAME SELECT * FROM found_by_reference;

-- The bookings of every order booked more than once (few): each one's role in the sequence.
CREATE OR REPLACE TEMP TABLE rebookings AS
WITH rebooked AS (
    SELECT order_id
    FROM (
        SELECT order_id FROM found WHERE order_id IS NOT NULL
        UNION ALL
        SELECT order_id FROM earlier_bookings
    )
    GROUP BY order_id
    HAVING count(*) > 1
),
bookings AS (
    SELECT
        f.order_id, true AS today, CAST($day_start AS DATE) AS export_date, NULL AS source,
        f.line, f.entry_id, f.ledger_amount AS amount, f.ledger_status AS status,
        f.older_than_window
    FROM found AS f
    SEMI JOIN rebooked USING (order_id)
    UNION ALL
    SELECT order_id, false, export_date, source, line, entry_id, amount, status, older_than_window
    FROM earlier_bookings
    SEMI JOIN rebooked USING (order_id)
),
sequenced AS (
    SELECT
        *,
        row_number() OVER booked_in_order AS booking,
        coalesce(
            count(*) FILTER (WHERE status = 'CANCELLED') OVER (
                booked_in_order ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING
            ),
            0
        ) AS cancelled_before
    FROM bookings
    WINDOW booked_in_order AS (PARTITION BY order_id ORDER BY export_date, line)
)
SELECT
    * EXCLUDE (cancelled_before),
    CASE
        WHEN booking = 1 AND status = 'CANCELLED' AND older_than_window THEN 'reversal'
        WHEN booking = 1 THEN 'sale'
        WHEN status = 'CANCELLED' AND cancelled_before = 0 THEN 'reversal'
        ELSE 'duplicate'
    END AS role
FROM sequenced;

-- Each usable row of D's export beside its order (`found`), and its role (NULL when it matched
-- no order). A view: the role is looked up in the few rebookings, not stored again.
CREATE OR REPLACE TEMP VIEW matches AS
SELECT
    f.*,
    CASE WHEN f.order_id IS NOT NULL THEN coalesce(
        r.role,  -- booked once: the sale, or the reversal of a sale older than the memory
        CASE WHEN f.ledger_status = 'CANCELLED' AND f.older_than_window
            THEN 'reversal' ELSE 'sale' END
    ) END AS role
FROM found AS f
LEFT JOIN rebookings AS r ON r.today AND r.line = f.line;

-- Per order booked more than once: its sale and whether the books reverse it.
CREATE OR REPLACE TEMP TABLE histories AS
SELECT
    order_id,
    any_value(entry_id) FILTER (WHERE role = 'sale') AS sale_entry_id,
    any_value(line) FILTER (WHERE role = 'sale') AS sale_line,
    any_value(export_date) FILTER (WHERE role = 'sale') AS sale_export_date,
    any_value(source) FILTER (WHERE role = 'sale') AS sale_source,
    any_value(amount) FILTER (WHERE role = 'sale') AS sale_amount,
    any_value(status) FILTER (WHERE role = 'sale') AS sale_status,
    bool_or(role = 'reversal') AS reversed,
    bool_or(role = 'reversal' AND today) AS reversed_today
FROM rebookings
GROUP BY order_id;

-- Matched pairs: each sale or reversal row of D beside its Starship order, and the order's
-- booked state across the window: `booked_status` is CANCELLED once a booking reverses (or
-- books the sale cancelled), else the sale's status. `sale_amount` is the amount of the order's
-- sale when the window books the order more than once (a reversal is compared with it); NULL
-- for an order booked once, and when the sale is older than the memory.
CREATE OR REPLACE TEMP VIEW pairs AS
SELECT
    m.line,
    m.entry_id,
    m.ledger_amount,
    m.ledger_currency,
    m.ledger_status,
    m.role,
    m.match_method,
    h.sale_amount,
    CASE
        WHEN h.reversed OR h.sale_status = 'CANCELLED' THEN 'CANCELLED'
        ELSE coalesce(h.sale_status, m.ledger_status)
    END AS booked_status,
    coalesce(h.reversed_today, false) AS reversed_today,
    m.order_id,
    m.client_reference,
    m.total_amount,
    m.currency,
    m.status,
    m.sub_status,
    m.created_at,
    m.trace_id
FROM matches AS m
LEFT JOIN histories AS h USING (order_id)
WHERE m.role IN ('sale', 'reversal');

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
sharing AS (
    SELECT o.order_id, o.client_reference, o.created_at
    FROM orders_all AS o
    SEMI JOIN shared USING (client_reference)
),
booked AS (  -- those the books sell: looked up for them alone, not for every booked order
    SELECT order_id FROM matches
    WHERE role = 'sale' AND order_id IN (SELECT order_id FROM sharing)
),
copies AS (
    SELECT
        order_id,
        created_at,
        row_number() OVER same_reference AS copy,
        first_value(order_id) OVER same_reference AS original_order_id
    FROM sharing
    WINDOW same_reference AS (
        PARTITION BY client_reference
        ORDER BY order_id NOT IN (SELECT order_id FROM booked), created_at, order_id
    )
)
SELECT order_id, original_order_id
FROM copies
WHERE copy > 1 AND created_at >= $day_start AND created_at < $day_end;
