-- How each row of the ledger's stream found its Starship order, what it books for it, and the
-- night that judges it.
--
-- The stream (`bookings`, recon/memory.py): every export from the day before the look-back
-- window to the last one that can still book D's orders, as far as they exist tonight, each row
-- with its export's `export_date`, `source` and `line` (`row_id` is the pair as one number).
--
-- The cascade: Starship's `order_id` first; then the partner's own reference, which the API
-- echoes as `client_reference` (a row booked before the order's response came back has no order
-- id). `match_method` records which. Orders of any day in the lake up to D can match.
--
-- The night that judges a row (`night`): a row that books an order, the later of the order's
-- UTC day and the row's own booking day (a reversal, booked when the cancellation came); a row
-- no order claims, its export's `judged_on` (the last UTC day the partner's business day
-- touches, when every order it could book is in the lake). So a Pacific partner's sale booked
-- at 20:00 on the export of D-1 for an order of 04:00 UTC on D is judged on D, and a row of D's
-- export for an order of D+1 is no finding on D. An export that came after a row's night had
-- run is judged on the night that first read it (macros.sql's judging).
--
-- The ledger's rows are movements. An order's bookings across the stream, in export order then
-- line order:
--   the first is the sale (`role` = 'sale');
--   a later row whose status maps to CANCELLED, the order not yet cancelled in the books, is
--   its reversal ('reversal': amount negated or unchanged; a refunded cancellation nets to 0,
--   a partial refund to what Starship kept for the items it delivered);
--   any other later row is a second sale or a second reversal ('duplicate'), reported as a
--   duplicate ledger entry, as is a repeat of an entry id (`entry_rank` > 1).
-- Except: when the first is CANCELLED and the order was created before the look-back window
-- (`older_than_window`), its sale is on an export older than the memory, so that first row is
-- the reversal. (A CANCELLED first row of a younger order is a sale booked in its end-of-day
-- state: the memory holds the whole life of such an order.)

-- Entry ids booked more than once in the stream: every booking after the first is a repeat.
-- Ranked apart: sorting every entry to find the few repeated ones is slow.
CREATE OR REPLACE TEMP TABLE entry_ranks AS
WITH repeated AS (
    SELECT entry_id FROM bookings GROUP BY entry_id HAVING count(*) > 1
)
SELECT row_id, row_number() OVER (PARTITION BY entry_id ORDER BY export_date, line) AS entry_rank
FROM bookings
SEMI JOIN repeated USING (entry_id);

-- Every usable row of the stream beside the Starship order it matched (NULLs when none): the
-- one relation the checks read, so that no check joins the ledger or the orders again. Narrow:
-- it carries what a check compares, and a check looks up what a finding only reports (the
-- export's path in `exports`, the order's reference, sub-status and trace id in `orders_all`)
-- for the few rows that break. The ledger's side: row_id, export_date, line, entry_id,
-- booked_order_id (the export's order id text), reference, ledger_amount, ledger_currency,
-- ledger_status, ledger_booked_at, entry_rank; the order's: order_id, total_amount, currency,
-- status, created_at, older_than_window, kept_amount (what Starship keeps of a cancelled order
-- for the items it delivered: the rule is macros.sql's delivered_share); match_method; and the
-- `night` that judges it. Built in two steps: every entry beside the order its order id
-- names, then the few that named none, by reference.
CREATE OR REPLACE TEMP TABLE found AS
WITH entries AS (
    SELECT
        b.row_id, b.export_date, b.line, b.entry_id, b.order_id AS booked_order_id,
        b.reference, b.amount AS ledger_amount, b.currency AS ledger_currency,
        b.status AS ledger_status, b.booked_at AS ledger_booked_at, b.first_read, b.ran_before,
        b.judged_on,
        coalesce(r.entry_rank, 1) AS entry_rank
    FROM bookings AS b
    LEFT JOIN entry_ranks AS r USING (row_id)
)
SELECT
    e.* EXCLUDE (first_read, ran_before, judged_on),
    o.order_id, o.total_amount, o.currency, o.status, o.created_at,
    o.created_at < $window_start AS older_than_window,
    cancelled_keeps(
        o.status, o.total_amount, o.delivered_item_count, o.quantity, o.currency
    ) AS kept_amount,
    CASE WHEN o.order_id IS NOT NULL THEN 'order_id' END AS match_method,
    CASE WHEN o.order_id IS NOT NULL
        THEN judging(greatest(CAST(o.created_at AS DATE), CAST(e.ledger_booked_at AS DATE)),
            e.first_read, e.ran_before)
        ELSE e.judged_on END AS night,
    night = CAST($day_start AS DATE) AS tonight,  -- tonight judges it
    e.export_date = CAST($day_start AS DATE) AS own_export  -- on D's own export
FROM entries AS e
LEFT JOIN orders_all AS o ON o.order_id = e.booked_order_id AND e.entry_rank = 1;

-- The entries no order id matched, beside the order their reference names: the earliest, and
-- one the books have not booked by its id already, unless the entry reverses it.
CREATE OR REPLACE TEMP TABLE found_by_reference AS
WITH candidates AS (
    SELECT f.* EXCLUDE (
            order_id, total_amount, currency, status, created_at, older_than_window,
            kept_amount, match_method, night, tonight
        ),
        o.order_id, o.total_amount, o.currency, o.status, o.created_at,
        o.created_at < $window_start AS older_than_window,
        cancelled_keeps(
            o.status, o.total_amount, o.delivered_item_count, o.quantity, o.currency
        ) AS kept_amount,
        'reference' AS match_method,
        judging(greatest(CAST(o.created_at AS DATE), CAST(f.ledger_booked_at AS DATE)),
            x.first_read, x.ran_before) AS night
    FROM found AS f
    JOIN orders_all AS o ON o.client_reference = f.reference
    JOIN exports AS x USING (export_date)  -- the few candidates' exports: who read them first
    WHERE f.order_id IS NULL AND f.entry_rank = 1 AND f.reference IS NOT NULL
),
booked_by_id AS (  -- looked up for the candidates only: listing every booked order is slow
    SELECT DISTINCT order_id FROM found SEMI JOIN candidates USING (order_id)
)
-- `tonight` from the night just found (in `candidates`, `night` would name found's own: the
-- export's night for a row no order id claims, which a row on a later export does not share)
SELECT c.*, c.night = CAST($day_start AS DATE) AS tonight
FROM candidates AS c
LEFT JOIN booked_by_id AS b ON b.order_id = c.order_id
WHERE b.order_id IS NULL OR c.ledger_status = 'CANCELLED'
QUALIFY row_number() OVER (
    PARTITION BY c.row_id ORDER BY b.order_id IS NULL, c.created_at, c.order_id
) = 1;

DELETE FROM found WHERE row_id IN (SELECT row_id FROM found_by_reference);

INSERT INTO found BY NAME SELECT * FROM found_by_reference;

-- The bookings of every order booked more than once (few): each one's role in the sequence,
-- and whether tonight judges it (`today`).
CREATE OR REPLACE TEMP TABLE rebookings AS
WITH rebooked AS (
    SELECT order_id FROM found WHERE order_id IS NOT NULL GROUP BY order_id HAVING count(*) > 1
),
sequenced AS (
    SELECT
        f.order_id, f.tonight AS today, f.night, f.export_date,
        x.source, f.line, f.row_id, f.entry_id, f.ledger_amount AS amount,
        f.ledger_status AS status, f.older_than_window,
        row_number() OVER booked_in_order AS booking,
        coalesce(
            count(*) FILTER (WHERE f.ledger_status = 'CANCELLED') OVER (
                booked_in_order ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING
            ),
            0
        ) AS cancelled_before
    FROM found AS f
    SEMI JOIN rebooked USING (order_id)
    JOIN exports AS x USING (export_date)
    WINDOW booked_in_order AS (PARTITION BY f.order_id ORDER BY f.export_date, f.line)
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

-- The rows tonight judges, each beside its order (`found`), and its role (NULL when it matched
-- no order). A view: the role is looked up in the few rebookings, not stored again.
CREATE OR REPLACE TEMP VIEW matches AS
SELECT
    f.*,
    -- the export a finding cites when it is not D's own (NULL: D's)
    x.source,
    CASE WHEN NOT f.own_export THEN x.source END AS ledger_source,
    CASE WHEN f.order_id IS NOT NULL THEN coalesce(
        r.role,  -- booked once: the sale, or the reversal of a sale older than the memory
        CASE WHEN f.ledger_status = 'CANCELLED' AND f.older_than_window
            THEN 'reversal' ELSE 'sale' END
    ) END AS role
FROM found AS f
JOIN exports AS x ON x.export_date = f.export_date
LEFT JOIN rebookings AS r ON r.row_id = f.row_id
WHERE f.tonight;

-- The rows of the stream judged on earlier nights that booked an order: the books as they
-- stood before tonight.
CREATE OR REPLACE TEMP TABLE earlier_bookings AS
SELECT
    f.export_date, x.source, f.line, f.entry_id, f.order_id, f.ledger_amount AS amount,
    f.ledger_currency AS currency, f.ledger_status AS status, f.older_than_window
FROM found AS f
JOIN exports AS x USING (export_date)
WHERE order_id IS NOT NULL AND night < CAST($day_start AS DATE);

-- Per order booked more than once: its sale and whether the books reverse it by tonight (a
-- reversal judged on a later night is not in the books yet).
CREATE OR REPLACE TEMP TABLE histories AS
SELECT
    order_id,
    any_value(entry_id) FILTER (WHERE role = 'sale') AS sale_entry_id,
    any_value(line) FILTER (WHERE role = 'sale') AS sale_line,
    any_value(export_date) FILTER (WHERE role = 'sale') AS sale_export_date,
    any_value(source) FILTER (WHERE role = 'sale') AS sale_source,
    any_value(amount) FILTER (WHERE role = 'sale') AS sale_amount,
    any_value(status) FILTER (WHERE role = 'sale') AS sale_status,
    bool_or(role = 'reversal' AND night <= CAST($day_start AS DATE)) AS reversed,
    bool_or(role = 'reversal' AND today) AS reversed_today
FROM rebookings
GROUP BY order_id;

-- Matched pairs: each sale or reversal row tonight judges beside its Starship order, and the
-- order's booked state: `booked_status` is CANCELLED once a booking reverses (or books the
-- sale cancelled), else the sale's status. `sale_amount` is the amount of the order's sale when
-- the stream books the order more than once (a reversal is compared with it); NULL for an
-- order booked once, and when the sale is older than the memory.
CREATE OR REPLACE TEMP VIEW pairs AS
SELECT
    m.row_id,
    m.line,
    m.export_date,
    m.ledger_source,
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
    m.total_amount,
    m.kept_amount,
    m.currency,
    m.status,
    m.created_at
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
booked AS (  -- those the stream books: looked up for them alone, not for every booked order
    SELECT order_id FROM found WHERE order_id IN (SELECT order_id FROM sharing)
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
