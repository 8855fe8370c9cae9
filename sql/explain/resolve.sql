-- What one id names, and what that reaches: the orders, ledger entries and references that are
-- the same booking. An order reaches its reference and the ledger rows booking it by order id
-- or reference; a ledger row reaches its order and reference; a break, what its findings name.
--
-- Binds $id (an order id, ledger entry id, reference, transaction id, or a break id or a
-- unique prefix of one of at least 6 characters, as `recon breaks ack` takes). Reads the views
-- orders_seen, transactions_seen and ledger_seen (every partition of the lake) and the break
-- history's findings and quarantine. One row: the kind the id is (NULL when recon has never
-- seen it), then the lists of order ids, entry ids, references, transaction ids and break ids.
WITH named_breaks AS (
    SELECT DISTINCT break_id FROM findings
    WHERE length($id) >= 6 AND starts_with(break_id, lower($id))
),
seed AS (
    SELECT 'order' AS kind, order_id, NULL AS entry_id, NULL AS reference, NULL AS transaction_id
        FROM orders_seen WHERE order_id = $id
    UNION ALL SELECT 'ledger entry', order_id, entry_id, reference, NULL
        FROM ledger_seen WHERE entry_id = $id
    UNION ALL SELECT 'ledger entry', order_id, ledger_entry_id, reference, transaction_id
        FROM findings WHERE ledger_entry_id = $id
    UNION ALL SELECT 'ledger entry', NULL, entry_id, NULL, NULL  -- a row no night could use
        FROM quarantine WHERE entry_id = $id
    UNION ALL SELECT 'reference', order_id, NULL, client_reference, NULL
        FROM orders_seen WHERE client_reference = $id
    UNION ALL SELECT 'reference', order_id, entry_id, reference, NULL
        FROM ledger_seen WHERE reference = $id
    UNION ALL SELECT 'transaction', order_id, NULL, NULL, transaction_id
        FROM transactions_seen WHERE transaction_id = $id
    UNION ALL SELECT 'transaction', order_id, ledger_entry_id, reference, transaction_id
        FROM findings WHERE transaction_id = $id
    UNION ALL SELECT 'order', order_id, NULL, NULL, NULL
        FROM transactions_seen WHERE order_id = $id
    UNION ALL SELECT 'order', order_id, ledger_entry_id, reference, transaction_id
        FROM findings WHERE order_id = $id
    UNION ALL SELECT 'break', order_id, ledger_entry_id, reference, transaction_id
        FROM findings WHERE break_id IN (SELECT break_id FROM named_breaks)
),
seed_orders AS (SELECT order_id FROM seed WHERE order_id <> ''),
seed_entries AS (SELECT entry_id FROM seed WHERE entry_id <> ''),
seed_refs AS (SELECT reference FROM seed WHERE reference <> ''),
orders AS (
    SELECT order_id FROM seed_orders
    UNION SELECT order_id FROM ledger_seen
        WHERE order_id <> '' AND (entry_id IN (SELECT entry_id FROM seed_entries)
            OR reference IN (SELECT reference FROM seed_refs))
),
refs AS (
    SELECT reference FROM seed_refs
    UNION SELECT client_reference FROM orders_seen
        WHERE client_reference <> '' AND order_id IN (SELECT order_id FROM orders)
),
entries AS (
    SELECT entry_id FROM seed_entries
    UNION SELECT entry_id FROM ledger_seen
        WHERE entry_id <> '' AND (order_id IN (SELECT order_id FROM orders)
            OR reference IN (SELECT reference FROM refs))
)
SELECT
    (SELECT kind FROM seed ORDER BY list_position(
        ['break', 'order', 'ledger entry', 'reference', 'transaction'], kind) LIMIT 1),
    (SELECT list(DISTINCT order_id) FROM orders),
    (SELECT list(DISTINCT entry_id) FROM entries),
    (SELECT list(DISTINCT reference) FROM refs),
    (SELECT list(DISTINCT transaction_id) FROM seed WHERE transaction_id <> ''),
    (SELECT list(break_id ORDER BY break_id) FROM named_breaks)
