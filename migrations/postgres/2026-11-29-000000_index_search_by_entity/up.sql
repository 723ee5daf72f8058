-- Listings check conditions per candidate entity (`EXISTS` on its search rows for a key and
-- value): an index on (entity_id, key, value) answers that in one probe, where the index on
-- entity_id alone had to read every row of the entity. It also serves the per-entity reads
-- and deletes that entity_id alone served.
CREATE INDEX search_entity_key_value_idx ON search (entity_id, key, value);
DROP INDEX search_entity_id_idx;

-- Only few-valued keys keep facet counts now (see is_counted_facet_key); drop the others.
DELETE FROM facet_counts
WHERE key LIKE 'relations.%'
  AND key NOT IN ('relations.ownedby', 'relations.partof', 'relations.memberof');

-- The entity's kind on the search rows of the keys catalog pages sort on (NULL on all other
-- rows), and an index that walks such a key's values within one kind: a catalog page
-- (`kind=component`, ordered by name) then reads just its page, where walking the sort key
-- alone passes every entity of the kinds sorted before it. Partial, so the other rows cost
-- no index entry.
ALTER TABLE search ADD COLUMN sort_kind TEXT;
UPDATE search SET sort_kind = (
    SELECT k.value FROM search k WHERE k.entity_id = search.entity_id AND k.key = 'kind'
)
WHERE key IN ('metadata.name', 'metadata.title', 'metadata.uid', 'spec.type', 'spec.lifecycle', 'spec.owner');
CREATE INDEX search_kind_sort_idx ON search (key, sort_kind, value, entity_id)
WHERE sort_kind IS NOT NULL;
