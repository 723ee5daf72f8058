-- The catalog's tables. Times are Unix milliseconds (UTC); JSON is stored as text.

-- Locations registered over the API (config locations live in config, not here).
CREATE TABLE locations (
    id TEXT PRIMARY KEY NOT NULL,
    type TEXT NOT NULL,
    target TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    UNIQUE (type, target)
);

-- One row per entity known to the catalog: what was emitted, what processing made of it,
-- and when it is due for processing and stitching. This table is also the work queue.
CREATE TABLE refresh_state (
    entity_id TEXT PRIMARY KEY NOT NULL,
    entity_ref TEXT NOT NULL UNIQUE,
    unprocessed_entity TEXT NOT NULL,
    unprocessed_hash TEXT NOT NULL,
    processed_entity TEXT,
    result_hash TEXT,
    errors TEXT NOT NULL DEFAULT '[]',
    location_key TEXT,
    next_update_at BIGINT NOT NULL,
    last_discovery_at BIGINT NOT NULL,
    next_stitch_at BIGINT,
    next_stitch_ticket TEXT
);
CREATE INDEX refresh_state_next_update_at_idx ON refresh_state (next_update_at);
CREATE INDEX refresh_state_next_stitch_at_idx ON refresh_state (next_stitch_at);

-- Who emitted which entity: a provider (source_key) or a parent entity (source_entity_ref).
CREATE TABLE refresh_state_references (
    id BIGSERIAL PRIMARY KEY,
    source_key TEXT,
    source_entity_ref TEXT,
    target_entity_ref TEXT NOT NULL
);
CREATE INDEX refresh_state_references_source_key_idx ON refresh_state_references (source_key);
CREATE INDEX refresh_state_references_source_entity_ref_idx ON refresh_state_references (source_entity_ref);
CREATE INDEX refresh_state_references_target_entity_ref_idx ON refresh_state_references (target_entity_ref);

-- Relation halves emitted by processing an entity (originating_entity_id).
CREATE TABLE relations (
    id BIGSERIAL PRIMARY KEY,
    originating_entity_id TEXT NOT NULL,
    source_entity_ref TEXT NOT NULL,
    type TEXT NOT NULL,
    target_entity_ref TEXT NOT NULL
);
CREATE INDEX relations_originating_entity_id_idx ON relations (originating_entity_id);
CREATE INDEX relations_source_entity_ref_idx ON relations (source_entity_ref);

-- The stitched entities the API serves.
CREATE TABLE final_entities (
    entity_id TEXT PRIMARY KEY NOT NULL,
    entity_ref TEXT NOT NULL UNIQUE,
    hash TEXT NOT NULL,
    final_entity TEXT NOT NULL,
    last_updated_at BIGINT NOT NULL
);

-- Flattened key/value rows of each final entity, for filters, sorting and full-text search.
CREATE TABLE search (
    id BIGSERIAL PRIMARY KEY,
    entity_id TEXT NOT NULL,
    key TEXT NOT NULL,
    original_value TEXT,
    value TEXT
);
CREATE INDEX search_entity_id_idx ON search (entity_id);
CREATE INDEX search_key_value_idx ON search (key, value, entity_id);

-- Facet counts kept up to date at stitch time, so unfiltered facets cost one indexed read.
CREATE TABLE facet_counts (
    key TEXT NOT NULL,
    value TEXT NOT NULL,
    count BIGINT NOT NULL,
    PRIMARY KEY (key, value)
);
