-- Every sighting of the orders the id reaches, in every partition that holds one (a list
-- page's, or a night's read by id), with the dataset it came from. Binds $orders, $references.
SELECT * FROM orders_seen
WHERE order_id IN (SELECT unnest($orders))
    OR client_reference IN (SELECT unnest($references))
