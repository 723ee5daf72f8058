-- Stitching reads every relation whose source is the entity being stitched: an API that
-- thousands of components consume has thousands. The index on the source alone sent each
-- of those rows to the table, whose rows lie in the order their originating entities were
-- processed, one page per row; covering the type and target answers them from the index.
CREATE INDEX relations_source_type_target_idx ON relations (source_entity_ref, type, target_entity_ref);
DROP INDEX relations_source_entity_ref_idx;
