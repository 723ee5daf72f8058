-- Pending stitches move out of refresh_state into a narrow table of their own. A stitch
-- request, claim and completion each rewrote a whole refresh_state row (both entity forms,
-- a few kB) and its index entries; here they touch a row of four short values, and the
-- table holds only what is pending.
--   due_at: when the stitch may be claimed (later than its request while a bulk ingest keeps
--           adding relations to the entity);
--   first_requested_at: when the pending stitch was first asked for (bounds that delay);
--   ticket: renewed by every request, so a completion leaves a renewed request pending;
--   claimed_until: a worker holds the stitch until then (NULL: free).
CREATE TABLE stitch_queue (
    entity_ref TEXT PRIMARY KEY NOT NULL,
    due_at BIGINT NOT NULL,
    first_requested_at BIGINT NOT NULL,
    ticket TEXT NOT NULL,
    claimed_until BIGINT
);
CREATE INDEX stitch_queue_due_at_idx ON stitch_queue (due_at);

INSERT INTO stitch_queue (entity_ref, due_at, first_requested_at, ticket)
SELECT entity_ref, next_stitch_at, next_stitch_at, COALESCE(next_stitch_ticket, 'migrated')
FROM refresh_state
WHERE next_stitch_at IS NOT NULL;

DROP INDEX refresh_state_next_stitch_at_idx;
ALTER TABLE refresh_state DROP COLUMN next_stitch_at;
ALTER TABLE refresh_state DROP COLUMN next_stitch_ticket;
