DROP INDEX search_kind_sort_idx;
ALTER TABLE search DROP COLUMN sort_kind;
CREATE INDEX search_entity_id_idx ON search (entity_id);
DROP INDEX search_entity_key_value_idx;
