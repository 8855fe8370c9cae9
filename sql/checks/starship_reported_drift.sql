-- starship_reported_drift (warning): Starship's own daily reconciliation flags this allocation.
--
-- Why it matters: Starship compared the vouchers it allocated to this order with its vendor's
-- records and found them apart, so the voucher the customer holds may not be the one the
-- vendor honours. What to do: open a ticket with Starship quoting the order id, the trace id
-- and the allocation fingerprints; a drift Starship marks resolved is listed as expected.
--
-- Rows come from `GET /reconciliation/{date}` (planned: docs/starship-api.md), extracted into the lake's
-- `reconciliation` partition of D; `our_allocation` and `vendor_record` are keyed fingerprints,
-- never the voucher codes. An order recon never extracted still gets its finding, without
-- the order's amount and reference.
SELECT
    d.order_id || '/' || coalesce(d.our_allocation, d.drift_id) AS key,
    d.resolution = 'resolved' AS expected,
    d.order_id,
    o.client_reference AS reference,
    o.currency,
    o.total_amount AS starship_amount,
    o.status AS starship_status,
    o.sub_status AS starship_sub_status,
    coalesce(d.detected_at, o.created_at) AS created_at,
    d.trace_id,
    concat_ws(
        '; ',
        'resolution ' || coalesce(d.resolution, 'not given'),
        'vendor ' || d.vendor,
        'product ' || d.product_id,
        'our allocation ' || d.our_allocation,
        'vendor record ' || d.vendor_record
    ) AS detail
FROM reported_drifts AS d
LEFT JOIN (
    SELECT * FROM orders_all QUALIFY row_number() OVER (
        PARTITION BY order_id ORDER BY updated_at DESC NULLS LAST
    ) = 1
) AS o USING (order_id)
