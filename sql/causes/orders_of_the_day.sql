-- Starship's orders created on the day ($start to $end, UTC): what the `file` cause measures
-- the missing ones against.
SELECT count(*) FROM orders_all WHERE created_at >= $start AND created_at < $end
