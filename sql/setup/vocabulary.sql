-- What recon knows of Starship's enums: the order lifecycle's status tables, and the transaction
-- types recon assumes (docs/starship-api.md, Order lifecycle and What recon assumes).
-- A value outside these lists is kept and reported as `unknown_status` (info), never an error:
-- Starship adds sub-statuses over time.

-- Each primary status, and what the partner's ledger would call it.
CREATE OR REPLACE TEMP TABLE status_classes (status VARCHAR PRIMARY KEY, ledger_status VARCHAR);
INSERT INTO status_classes VALUES
    ('PLACED', 'PENDING'),
    ('PENDING', 'PENDING'),
    ('PARTIALLY_DELIVERED', 'PENDING'),
    ('DELIVERED', 'DELIVERED'),
    ('CANCELLED', 'CANCELLED'),
    ('FAILED', 'CANCELLED');

CREATE OR REPLACE TEMP TABLE known_values (kind VARCHAR, value VARCHAR);
INSERT INTO known_values
SELECT 'sub_status', unnest([
    'INITIAL', 'PROCESSING', 'INVENTORY_FULFILLED', 'VENDOR_ORDER_PENDING',
    'VENDOR_ORDER_CREATED', 'VENDOR_VOUCHER_FETCHED', 'VENDOR_ORDER_FAILED', 'PENDING_REPROCESS',
    'REPROCESS_EXPIRED', 'PARTIAL', 'COMPLETED', 'GV_LINK_PENDING', 'GV_LINK_CLAIMED',
    'GV_LINK_UNCLAIMED', 'BULK_LIMIT_EXCEEDED', 'REFUNDED', 'NOT_REFUNDED', 'RECONCILED'
])
UNION ALL
SELECT 'transaction_type', unnest(['ORDER_DEBIT', 'REFUND', 'TOPUP', 'ADJUSTMENT']);
