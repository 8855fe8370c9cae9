-- status_mismatch (error): the books' status for an order disagrees with Starship's at the end of D.
--
-- Why it matters: the common case is a delivered order that Starship later cancelled and
-- refunded (a vendor recall, a fraud flag): the partner missed the order.cancelled webhook and
-- still books revenue for a voucher that no longer works. What to do: Handle a late
-- cancellation even for an order already marked done: reverse the sale, book the refund.
--
-- The action is the one Starship's order lifecycle gives (docs/starship-api.md, Order lifecycle).
--
-- The books' status is the order's net booking across the ledger's stream, as it stands on
-- night D: cancelled once a row reverses the sale (or the sale was booked cancelled), else the
-- sale's status. A partial refund (part of the sale reversed, as Starship refunds the items it
-- did not deliver before cancelling) is a reversal too. Checked on night D: every order a row
-- judged tonight books or reverses; and, against the rows judged before, every
-- order of the window that Starship cancelled on D whose sale an earlier export booked and no
-- export reverses (the finding names that sale's entry, export and line), and every order whose
-- status_mismatch is still open from an earlier night (`carried`), until the books and Starship
-- agree: a late cancellation stays open until an export reverses it. Once an order's bookings
-- are all older than the memory, its books' status is the one its break last saw (nothing
-- booked since has changed it: that booking would be in the memory). Starship's primary status
-- is compared in the ledger's terms (status_classes); a status recon does not know is
-- unknown_status instead.
WITH candidates AS (  -- the few orders the earlier exports may have to answer for: those
    -- cancelled on D, and those still open; filtered first, so little of orders_all is read
    SELECT o.*, c.ledger_status AS starship_books_status
    FROM orders_all AS o
    JOIN status_classes AS c ON c.status = o.status
    WHERE (c.ledger_status = 'CANCELLED' AND o.updated_at >= $day_start AND o.updated_at < $day_end)
        OR o.order_id IN (SELECT order_id FROM carried WHERE "check" = 'status_mismatch')
),
remembered_or_open AS (  -- those of them the memory books, or whose break is open
    SELECT order_id FROM earlier_bookings SEMI JOIN candidates USING (order_id)
    UNION
    SELECT order_id FROM carried WHERE "check" = 'status_mismatch'
),
paired_on_day AS (  -- those of them with a sale or reversal on D (in `pairs`), found apart:
    -- `pairs` twice in one statement is materialised, every column of every row
    SELECT order_id
    FROM matches
    SEMI JOIN remembered_or_open USING (order_id)
    WHERE role IN ('sale', 'reversal')
),
unbooked_on_day AS (  -- the orders checked against the earlier exports only
    SELECT
        o.*,
        cancelled_keeps(
            o.status, o.total_amount, o.delivered_item_count, o.quantity, o.currency
        ) AS kept_amount
    FROM candidates AS o
    SEMI JOIN remembered_or_open USING (order_id)
    WHERE o.order_id NOT IN (SELECT order_id FROM paired_on_day)
),
standing AS (  -- each one's booking that says its books' status: a reversal, else its sale
    SELECT b.*
    FROM (
        SELECT order_id, export_date, source, line, entry_id, amount, status
        FROM rebookings
        WHERE role IN ('sale', 'reversal') AND night < CAST($day_start AS DATE)
        UNION ALL
        SELECT order_id, export_date, source, line, entry_id, amount, status
        FROM earlier_bookings
        ANTI JOIN rebookings USING (order_id)
    ) AS b
    SEMI JOIN unbooked_on_day USING (order_id)
    QUALIFY row_number() OVER (
        PARTITION BY order_id ORDER BY status = 'CANCELLED' DESC, export_date, line
    ) = 1
),
remembered AS (  -- its standing booking in the memory, else what its open break last saw
    SELECT
        o.*,
        b.export_date,
        coalesce(b.entry_id, k.ledger_entry_id) AS ledger_entry_id,
        coalesce(b.line, k.line) AS ledger_line,
        coalesce(b.source, k.ledger_source) AS ledger_source,
        coalesce(b.amount, k.ledger_amount) AS ledger_amount,
        coalesce(b.status, k.ledger_status) AS books_status
    FROM unbooked_on_day AS o
    LEFT JOIN standing AS b USING (order_id)
    LEFT JOIN (SELECT * FROM carried WHERE "check" = 'status_mismatch') AS k USING (order_id)
),
broken AS (
    SELECT
        p.order_id AS key,
        p.order_id,
        p.row_id,
        p.entry_id AS ledger_entry_id,
        p.line,
        p.ledger_source,
        p.currency,
        p.total_amount AS starship_amount,
        p.ledger_amount,
        p.status AS starship_status,
        p.booked_status AS ledger_status,
        p.created_at,
        p.match_method,
        CASE
            WHEN p.role = 'reversal' THEN 'the books reverse a sale Starship has ' || p.status
            WHEN p.kept_amount > 0 THEN refund_unbooked(p.total_amount, p.kept_amount, p.currency)
        END AS detail
    FROM pairs AS p
    JOIN status_classes AS c ON c.status = p.status
    WHERE (p.role = 'reversal' OR NOT p.reversed_today)
        AND c.ledger_status <> p.booked_status
)
-- the order's reference, trace id and sub-status, looked up for the few rows that break
SELECT b.*, o.client_reference AS reference, o.trace_id, o.sub_status AS starship_sub_status
FROM broken AS b
LEFT JOIN (
    SELECT order_id, client_reference, trace_id, sub_status
    FROM orders_all
    SEMI JOIN broken USING (order_id)
) AS o USING (order_id)

UNION ALL BY NAME

SELECT
    r.order_id AS key,
    r.order_id,
    r.ledger_entry_id,
    r.ledger_line AS line,
    r.ledger_source,
    r.client_reference AS reference,
    r.currency,
    r.total_amount AS starship_amount,
    r.ledger_amount,
    r.status AS starship_status,
    r.sub_status AS starship_sub_status,
    r.books_status AS ledger_status,
    r.created_at,
    r.trace_id,
    CASE
        WHEN r.starship_books_status = 'CANCELLED' AND r.kept_amount > 0
            THEN refund_unbooked(r.total_amount, r.kept_amount, r.currency) || ' (the sale, entry '
                || r.ledger_entry_id || ', ' || regexp_extract(r.ledger_source, '[^/\\]+$')
                || ', line ' || r.ledger_line || ')'
        WHEN r.starship_books_status = 'CANCELLED' AND r.export_date IS NOT NULL
            THEN 'Starship cancelled it on ' || strftime(r.updated_at, '%Y-%m-%d')
                || '; the sale, entry ' || r.ledger_entry_id || ' of the export of '
                || r.export_date || ' (' || regexp_extract(r.ledger_source, '[^/\\]+$')
                || ', line ' || r.ledger_line || '), is not reversed by any export since'
        WHEN r.starship_books_status = 'CANCELLED'
            THEN 'Starship cancelled it on ' || strftime(r.updated_at, '%Y-%m-%d')
                || '; the sale, entry ' || r.ledger_entry_id || ' ('
                || regexp_extract(r.ledger_source, '[^/\\]+$') || ', line ' || r.ledger_line
                || '), is older than the ledger''s memory, and no export since reverses it'
        ELSE 'the books have it ' || r.books_status || ' (entry ' || r.ledger_entry_id
            || '), Starship has ' || r.status
    END AS detail
FROM remembered AS r
WHERE r.books_status IS NOT NULL AND r.books_status <> r.starship_books_status
