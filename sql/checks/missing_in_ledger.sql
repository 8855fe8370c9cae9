-- missing_in_ledger (error): Starship charged the wallet for an order the ledger does not have.
--
-- Why it matters: the money left the prepaid wallet, but the partner's books never recorded the
-- purchase: either the order's response was lost (a timeout) and the voucher was never handed
-- on, or the booking failed. What to do: look the reference up in your own system; book the
-- order, or ask Starship to cancel it if no customer received the voucher.
--
-- Scope: orders created on D, and orders reported missing on earlier nights that are still open
-- (`carried`), until a row anywhere in the ledger's stream books them: an earlier export, D's,
-- or a later one already there. A surplus copy of a reference is reported as duplicate_order
-- instead.
--
-- An order whose booking has not been read yet is `expected`, with the export it awaits in the
-- detail: no export since the partner's business day that holds it (in `[ledger]
-- business_day_timezone`) has arrived (the day has not closed, or the partner does not export
-- on that day: Monday's export books the weekend), or it was placed within `grace_minutes` of
-- the day's close and no later export has arrived (its booking may land on the next one). Once
-- such an export is there and books nothing for it, the order is missing.
--
-- Accounts for: orders. The orders of D it reports (by `order_id`) no ledger row matched;
-- conservation counts them as reported (recon.checks.accounts_for).
WITH missing AS (  -- few: the orders no row of the stream books (setup/facts.sql)
    SELECT *
    FROM order_facts
    WHERE listed AND (on_day OR list_contains(carried_as, 'missing_in_ledger'))
        AND NOT booked
        AND NOT duplicate
),
placed AS (  -- each one's business day, and the first export there is since
    SELECT
        m.*,
        e.export_date AS business_day,
        e.source AS business_day_source,
        m.created_at >= e.closes_at - to_minutes($grace_minutes) AS near_close,
        (SELECT min(x.export_date) FROM exports AS x
            WHERE x.present AND x.export_date >= e.export_date) AS first_export,
        (SELECT min(x.export_date) FROM exports AS x
            WHERE x.present AND x.export_date > e.export_date) AS next_export
    FROM missing AS m
    LEFT JOIN exports AS e ON m.created_at >= e.opens_at AND m.created_at < e.closes_at
)
SELECT
    p.order_id AS key,
    p.order_id,
    o.client_reference AS reference,
    p.currency,
    p.total_amount AS starship_amount,
    p.status AS starship_status,
    o.sub_status AS starship_sub_status,
    p.created_at,
    o.trace_id,
    business_day IS NOT NULL
        AND (first_export IS NULL OR (near_close AND next_export IS NULL)) AS expected,
    -- the business day whose export has not come: the orders the verdict says await one
    CASE WHEN business_day IS NOT NULL AND first_export IS NULL THEN business_day END
        AS awaited_export,
    CASE
        WHEN business_day IS NULL THEN NULL
        WHEN first_export IS NULL
            THEN 'awaits the export of ' || business_day || ' ('
                || regexp_extract(business_day_source, '[^/\\]+$')
                || ') or the next one after it, not there yet'
        WHEN near_close AND next_export IS NULL
            THEN 'placed within ' || $grace_minutes || ' minutes of the close of the business day '
                || business_day || ': awaits the next export, not there yet'
        WHEN first_export > business_day
            THEN 'no export since the business day ' || business_day || ' books it (the first is '
                || first_export || ')'
    END AS detail
FROM placed AS p
-- the columns a finding only reports, looked up for the few: a semi join builds on them
JOIN (SELECT * FROM orders_all SEMI JOIN placed USING (order_id)) AS o USING (order_id)
