ALTER TABLE refresh_state ADD COLUMN next_stitch_at BIGINT;
ALTER TABLE refresh_state ADD COLUMN next_stitch_ticket TEXT;
UPDATE refresh_state SET
    next_stitch_at = (SELECT q.due_at FROM stitch_queue q WHERE q.entity_ref = refresh_state.entity_ref),
    next_stitch_ticket = (SELECT q.ticket FROM stitch_queue q WHERE q.entity_ref = refresh_state.entity_ref);
CREATE INDEX refresh_state_next_stitch_at_idx ON refresh_state (next_stitch_at);
DROP TABLE stitch_queue;
