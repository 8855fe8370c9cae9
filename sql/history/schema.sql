-- recon.duckdb: every night's findings and what analysts said about them.

-- One row per date recon has diffed (the latest run of that date).
CREATE TABLE IF NOT EXISTS runs (
    run_date DATE PRIMARY KEY,
    started_at TIMESTAMP,
    finished_at TIMESTAMP,
    complete BOOLEAN,         -- every partition read was extracted completely
    counts JSON,              -- input rows: matched, reported, quarantined
    ledger_path VARCHAR
);
-- Added after the first release: a history written before it gains the column empty.
ALTER TABLE runs ADD COLUMN IF NOT EXISTS totals JSON;  -- per currency (report/totals.sql)
-- Starship's reconciliation summary against recon's own counts (checks.control_total).
ALTER TABLE runs ADD COLUMN IF NOT EXISTS reconciliation JSON;
ALTER TABLE runs ADD COLUMN IF NOT EXISTS incomplete JSON;  -- why rows may be missing
-- The night's own ledger export and the days before it in a row without one: [{date, path}].
ALTER TABLE runs ADD COLUMN IF NOT EXISTS missing_exports JSON;
-- Each wallet's runway at the end of the night (setup/runway.sql): [{currency, balance, ...}].
ALTER TABLE runs ADD COLUMN IF NOT EXISTS wallets JSON;
-- The one setting most of the night's breaks point to, if any (recon.causes): [{cause, key, ...}].
ALTER TABLE runs ADD COLUMN IF NOT EXISTS causes JSON;

-- What each night found. A break's identity is its check and key; `break_id` is a short hash of
-- both, stable across nights, which analysts type.
CREATE TABLE IF NOT EXISTS findings (
    run_date DATE NOT NULL,
    break_id VARCHAR NOT NULL,
    "check" VARCHAR NOT NULL,
    severity VARCHAR NOT NULL,
    key VARCHAR NOT NULL,
    expected BOOLEAN,
    order_id VARCHAR,
    transaction_id VARCHAR,
    ledger_entry_id VARCHAR,
    line BIGINT,
    reference VARCHAR,
    currency VARCHAR,
    starship_amount DECIMAL(18, 4),
    ledger_amount DECIMAL(18, 4),
    delta DECIMAL(18, 4),
    starship_status VARCHAR,
    starship_sub_status VARCHAR,
    ledger_status VARCHAR,
    created_at TIMESTAMP,
    trace_id VARCHAR,
    match_method VARCHAR,
    detail VARCHAR
);
-- The export a finding's `line` is in, when not the night's own (a late cancellation's sale).
ALTER TABLE findings ADD COLUMN IF NOT EXISTS ledger_source VARCHAR;

-- Input rows a night could not use.
CREATE TABLE IF NOT EXISTS quarantine (
    run_date DATE NOT NULL,
    source VARCHAR,
    line BIGINT,
    entry_id VARCHAR,
    reason VARCHAR,
    raw VARCHAR
);

-- Breaks a night looked at again and no longer found.
CREATE TABLE IF NOT EXISTS resolutions (
    run_date DATE NOT NULL,
    break_id VARCHAR NOT NULL
);

-- Acknowledgements, snoozes and reopenings: appended, never rewritten; the latest one counts.
CREATE SEQUENCE IF NOT EXISTS action_number;
CREATE TABLE IF NOT EXISTS actions (
    number BIGINT DEFAULT nextval('action_number'),
    break_id VARCHAR NOT NULL,
    action VARCHAR NOT NULL,  -- ack | snooze | reopen
    note VARCHAR,
    until DATE,
    acted_at TIMESTAMP NOT NULL,
    by_user VARCHAR
);

-- Every `recon run` (by hand, from cron or from `recon backfill`): when, how it ended, and how
-- long each stage took. `backfill` re-runs the dates with no attempt that finished 0 or 1. An
-- attempt still `running` when the next one starts was killed (the lock guarantees no other run
-- holds it) and is marked `killed`.
CREATE SEQUENCE IF NOT EXISTS attempt_number;
CREATE TABLE IF NOT EXISTS attempts (
    number BIGINT DEFAULT nextval('attempt_number'),
    run_date DATE NOT NULL,
    command VARCHAR NOT NULL,  -- run | backfill
    started_at TIMESTAMP NOT NULL,
    finished_at TIMESTAMP,
    status VARCHAR NOT NULL,   -- running | agree | breaks | incomplete | failed | killed
    exit_code INTEGER,
    error VARCHAR,             -- the one-line message of a failed run
    seconds JSON,              -- per stage: extract, diff, report, email
    host VARCHAR,
    pid INTEGER,
    version VARCHAR
);
