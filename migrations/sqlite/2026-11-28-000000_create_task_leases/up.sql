-- Scheduled tasks shared by every replica (Backstage's scheduler table): a task runs when
-- next_run_start_at has come and no unexpired lease is held. A replica claims it by setting
-- current_run_ticket in one UPDATE whose WHERE re-checks both, so only one replica wins each
-- period; a dead replica's lease lapses at current_run_expires_at. Times are Unix milliseconds.
CREATE TABLE task_leases (
    id TEXT PRIMARY KEY NOT NULL,
    settings TEXT NOT NULL,
    next_run_start_at BIGINT,
    current_run_ticket TEXT,
    current_run_started_at BIGINT,
    current_run_expires_at BIGINT,
    last_run_ended_at BIGINT,
    last_run_error TEXT
);
