CREATE INDEX relations_source_entity_ref_idx ON relations (source_entity_ref);
DROP INDEX relations_source_type_target_idx;
