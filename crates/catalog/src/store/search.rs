//! Final entities and their search rows and facet counts, all written together at stitch time
//! so that reads never recompute them.

use crate::error::CatalogResult;
use diesel::prelude::*;
use diesel::upsert::excluded;
use portico_query::{build_search_rows, SearchRow};
use portico_store::schema::{facet_counts as fc, final_entities as fe, search as s};
use portico_store::{with_conn, DbConn};
use std::collections::{BTreeMap, HashMap};

/// Facet keys whose counts are kept up to date: the few-valued keys catalog pages filter on.
/// Keys with about one value per entity (names, uids, annotations, the reverse relations such
/// as `ownerOf`) would make the table as large as the search table and cost a write per
/// entity for no gain; facets on them are computed from the search rows instead.
pub fn is_counted_facet_key(key: &str) -> bool {
    matches!(
        key,
        "kind"
            | "apiversion"
            | "metadata.namespace"
            | "metadata.tags"
            | "spec.type"
            | "spec.lifecycle"
            | "spec.owner"
            | "spec.system"
            | "spec.domain"
            | "relations.ownedby"
            | "relations.partof"
            | "relations.memberof"
    ) || key.starts_with("metadata.labels.")
}

/// The keys whose search rows carry their entity's kind, which `search_kind_sort_idx`
/// orders by (see the migration that creates it): the keys catalog pages sort on.
pub const KIND_SORT_KEYS: [&str; 6] = [
    "metadata.name",
    "metadata.title",
    "metadata.uid",
    "spec.type",
    "spec.lifecycle",
    "spec.owner",
];

/// The keys whose values the trigram index holds (see the migration that creates it): the
/// fields Backstage's and Portico's catalog pages search. Full-text filters on other keys
/// scan the key's values.
pub const FULL_TEXT_INDEXED_KEYS: [&str; 3] = [
    "metadata.name",
    "metadata.title",
    "spec.profile.displayname",
];

/// A stitched entity ready to be stored: its text and search rows, built as soon as it is
/// stitched so that a batch holds no entity as a JSON value (a group's relations alone take
/// tens of kilobytes that way).
pub struct FinalEntityWrite {
    pub entity_id: String,
    pub entity_ref: String,
    pub text: String,
    pub rows: Vec<SearchRow>,
    pub hash: String,
    /// Whether a final entity is stored for this id already (see [`final_entity_hashes`]).
    pub replaces: bool,
}

impl FinalEntityWrite {
    /// Serializes a stitched entity and builds its search rows. An entity that cannot be
    /// indexed is an error, so it is never stored without its rows.
    pub fn new(
        entity_id: String,
        entity_ref: String,
        entity: &serde_json::Value,
        hash: String,
        replaces: bool,
    ) -> Result<Self, String> {
        let rows = build_search_rows(entity).map_err(|e| e.to_string())?;
        let text = serde_json::to_string(entity).map_err(|e| e.to_string())?;
        Ok(Self {
            entity_id,
            entity_ref,
            text,
            rows,
            hash,
            replaces,
        })
    }
}

/// The stored hashes of those of `entity_ids` that have a final entity.
pub fn final_entity_hashes(
    conn: &mut DbConn<'_>,
    entity_ids: &[&str],
) -> CatalogResult<HashMap<String, String>> {
    let mut hashes = HashMap::new();
    for chunk in entity_ids.chunks(CHUNK) {
        let rows: Vec<(String, String)> = with_conn!(conn, c => fe::table
            .filter(fe::entity_id.eq_any(chunk))
            .select((fe::entity_id, fe::hash))
            .load(*c))?;
        hashes.extend(rows);
    }
    Ok(hashes)
}

/// Writes stitched entities (callers leave out those whose stored hash is the same), with
/// their search rows and facet counts, a chunk of entities per statement where the statement
/// allows it (stitching runs in batches; per-entity statements made it the slowest part of
/// ingestion). Returns how many entities were written.
pub fn write_final_entities(
    conn: &mut DbConn<'_>,
    writes: Vec<FinalEntityWrite>,
    now: i64,
) -> CatalogResult<usize> {
    let mut updates = Vec::new();
    let mut inserts = Vec::new();
    let mut search_rows = Vec::new();
    for w in writes {
        search_rows.push((w.entity_id.clone(), w.rows));
        if w.replaces {
            updates.push((w.entity_id, w.hash, w.text));
        } else {
            inserts.push((w.entity_id, w.entity_ref, w.hash, w.text));
        }
    }
    for (id, hash, text) in &updates {
        with_conn!(conn, c => diesel::update(fe::table.filter(fe::entity_id.eq(id)))
            .set((fe::hash.eq(hash), fe::final_entity.eq(text), fe::last_updated_at.eq(now)))
            .execute(*c))?;
    }
    let rows: Vec<_> = inserts
        .iter()
        .map(|(id, entity_ref, hash, text)| {
            (
                fe::entity_id.eq(id),
                fe::entity_ref.eq(entity_ref),
                fe::hash.eq(hash),
                fe::final_entity.eq(text),
                fe::last_updated_at.eq(now),
            )
        })
        .collect();
    portico_store::bulk_insert!(conn, fe::table, &rows, 100)?;
    let changed = search_rows.len();
    replace_search_rows(conn, search_rows)?;
    Ok(changed)
}

/// Entities per `IN (…)` list: well under both backends' bind-parameter limits.
const CHUNK: usize = 500;

/// Search rows per multi-row insert on SQLite (PostgreSQL takes a batch by COPY): five values
/// each, well under its parameter limit.
const SEARCH_ROW_CHUNK: usize = 500;

/// Removes a final entity with its search rows, keeping facet counts right.
pub fn delete_final_entity(conn: &mut DbConn<'_>, entity_id: &str) -> CatalogResult<()> {
    replace_search_rows(conn, vec![(entity_id.to_string(), Vec::new())])?;
    with_conn!(conn, c => diesel::delete(fe::table.filter(fe::entity_id.eq(entity_id))).execute(*c))?;
    Ok(())
}

/// Brings each entity's search rows from what is stored to the given rows, touching only the
/// rows that differ: an entity gaining one relation costs one inserted row, not a rewrite of
/// all its rows (large groups are restitched often while their members are processed).
/// Facet count changes are summed over all the entities and written once per value.
fn replace_search_rows(
    conn: &mut DbConn<'_>,
    entities: Vec<(String, Vec<SearchRow>)>,
) -> CatalogResult<()> {
    type RowKey = (String, Option<String>, Option<String>);
    type StoredRow = (i64, String, String, Option<String>, Option<String>);
    let mut old_by_entity: HashMap<String, Vec<(i64, RowKey)>> = HashMap::new();
    for chunk in entities.chunks(CHUNK) {
        let ids: Vec<&str> = chunk.iter().map(|(id, _)| id.as_str()).collect();
        let rows: Vec<StoredRow> = with_conn!(conn, c => s::table
            .filter(s::entity_id.eq_any(&ids))
            .select((s::id, s::entity_id, s::key, s::original_value, s::value))
            .load(*c))?;
        for (id, entity_id, key, original, value) in rows {
            old_by_entity
                .entry(entity_id)
                .or_default()
                .push((id, (key, original, value)));
        }
    }
    let mut stale_ids = Vec::new();
    // Rows to insert: the index of their entity in `entities`, the kind on sort-key rows,
    // and the row.
    let mut added: Vec<(usize, Option<&str>, &SearchRow)> = Vec::new();
    let mut deltas: BTreeMap<(String, String), i64> = BTreeMap::new();
    let kinds: Vec<Option<String>> = entities
        .iter()
        .map(|(_, rows)| {
            rows.iter()
                .find(|r| r.key == "kind")
                .and_then(|r| r.value.clone())
        })
        .collect();
    let count_added = |deltas: &mut BTreeMap<(String, String), i64>, r: &SearchRow| {
        if let (true, Some(v)) = (is_counted_facet_key(&r.key), &r.original_value) {
            *deltas.entry((r.key.clone(), v.clone())).or_default() += 1;
        }
    };
    for (index, (entity_id, new_rows)) in entities.iter().enumerate() {
        // Rows of the sort keys carry the entity's kind, for the per-kind sort index.
        let sort_kind = |r: &SearchRow| {
            kinds[index]
                .as_deref()
                .filter(|_| KIND_SORT_KEYS.contains(&r.key.as_str()))
        };
        let Some(old_rows) = old_by_entity.remove(entity_id) else {
            // A new entity (most of an ingest): every row is added.
            for r in new_rows {
                count_added(&mut deltas, r);
                added.push((index, sort_kind(r), r));
            }
            continue;
        };
        // Multiset difference: rows present in both stay.
        let mut wanted: HashMap<(&str, Option<&str>, Option<&str>), usize> = HashMap::new();
        for r in new_rows {
            *wanted
                .entry((&r.key, r.original_value.as_deref(), r.value.as_deref()))
                .or_default() += 1;
        }
        for (id, (key, original, value)) in &old_rows {
            match wanted.get_mut(&(key.as_str(), original.as_deref(), value.as_deref())) {
                Some(n) if *n > 0 => *n -= 1,
                _ => {
                    stale_ids.push(*id);
                    if let (true, Some(v)) = (is_counted_facet_key(key), original) {
                        *deltas.entry((key.clone(), v.clone())).or_default() -= 1;
                    }
                }
            }
        }
        for r in new_rows {
            let row_key = (
                r.key.as_str(),
                r.original_value.as_deref(),
                r.value.as_deref(),
            );
            if let Some(n) = wanted.get_mut(&row_key) {
                if *n > 0 {
                    *n -= 1;
                    count_added(&mut deltas, r);
                    added.push((index, sort_kind(r), r));
                }
            }
        }
    }
    // In index order: consecutive inserts then land on the same pages of the (key, value)
    // index instead of one page per key for every entity.
    added.sort_unstable_by(|a, b| (&a.2.key, &a.2.value).cmp(&(&b.2.key, &b.2.value)));
    for chunk in stale_ids.chunks(CHUNK) {
        with_conn!(conn, c => diesel::delete(s::table.filter(s::id.eq_any(chunk))).execute(*c))?;
    }
    let rows: Vec<_> = added
        .iter()
        .map(|(index, sort_kind, r)| {
            (
                s::entity_id.eq(&entities[*index].0),
                s::key.eq(&r.key),
                s::original_value.eq(r.original_value.as_deref()),
                s::value.eq(r.value.as_deref()),
                s::sort_kind.eq(*sort_kind),
            )
        })
        .collect();
    portico_store::bulk_insert!(conn, s::table, &rows, SEARCH_ROW_CHUNK)?;
    // One statement per chunk of values: a batch of entities changes the counts of a few
    // thousand values (every system, owner and group they point at), and a statement each
    // made these upserts the largest share of stitching's round trips to PostgreSQL.
    let deltas: Vec<((String, String), i64)> = deltas
        .into_iter()
        .filter(|(_, delta)| *delta != 0)
        .collect();
    for chunk in deltas.chunks(CHUNK) {
        let rows: Vec<_> = chunk
            .iter()
            .map(|((key, value), delta)| {
                (fc::key.eq(key), fc::value.eq(value), fc::count.eq(*delta))
            })
            .collect();
        with_conn!(conn, c => diesel::insert_into(fc::table)
            .values(&rows)
            .on_conflict((fc::key, fc::value))
            .do_update()
            .set(fc::count.eq(fc::count + excluded(fc::count)))
            .execute(*c))?;
    }
    Ok(())
}

#[cfg(test)]
mod write_tests {
    //! Final entities and search rows written and read back on both backends: the bulk
    //! paths (`COPY` on PostgreSQL) keep non-ASCII text and NULLs, and a rewrite touches only
    //! the rows that changed.
    use super::*;
    use crate::error::CatalogError;
    use portico_test_support::TestDb;
    use serde_json::json;

    type StoredRow = (String, Option<String>, Option<String>, Option<String>);

    fn component(tags: &[&str]) -> serde_json::Value {
        json!({
            "apiVersion": "backstage.io/v1alpha1",
            "kind": "Component",
            "metadata": {
                "name": "zurich",
                "namespace": "default",
                "uid": "0190a1b2-0000-7000-8000-000000000001",
                "title": "Zürich Ünïcödé ✓ 東京",
                "description": "x".repeat(300),
                "tags": tags,
            },
            "spec": { "type": "service", "lifecycle": "production", "owner": "team-a", "system": null },
        })
    }

    fn write(conn: &mut DbConn<'_>, entity: &serde_json::Value, replaces: bool) {
        let write = FinalEntityWrite::new(
            "e1".into(),
            "component:default/zurich".into(),
            entity,
            format!("hash-{replaces}"),
            replaces,
        )
        .expect("indexable");
        assert_eq!(
            write_final_entities(conn, vec![write], 1).expect("write"),
            1
        );
    }

    fn stored_rows(conn: &mut DbConn<'_>) -> Vec<StoredRow> {
        let mut rows: Vec<StoredRow> = with_conn!(conn, c => s::table
            .filter(s::entity_id.eq("e1"))
            .select((s::key, s::original_value, s::value, s::sort_kind))
            .load(*c))
        .expect("read rows");
        rows.sort();
        rows
    }

    /// The rows `entity` should have: its search rows, the sort keys' carrying its kind.
    fn expected_rows(entity: &serde_json::Value) -> Vec<StoredRow> {
        let mut rows: Vec<StoredRow> = build_search_rows(entity)
            .expect("rows")
            .into_iter()
            .map(|r| {
                let kind = KIND_SORT_KEYS
                    .contains(&r.key.as_str())
                    .then(|| "component".to_string());
                (r.key, r.original_value, r.value, kind)
            })
            .collect();
        rows.sort();
        rows
    }

    fn check_round_trip(test_db: &TestDb) {
        test_db
            .db
            .write_blocking(|conn| {
                let first = component(&["java", "data"]);
                write(conn, &first, false);
                let rows = stored_rows(conn);
                assert_eq!(rows, expected_rows(&first));
                assert!(rows.contains(&(
                    "metadata.title".into(),
                    Some("Zürich Ünïcödé ✓ 東京".into()),
                    Some("zürich ünïcödé ✓ 東京".into()),
                    Some("component".into()),
                )));
                assert!(
                    rows.contains(&("metadata.description".into(), None, None, None)),
                    "a value over the length limit is stored without one"
                );
                assert!(rows.contains(&("spec.system".into(), None, None, None)));
                let text = crate::store::final_entity_by_ref(conn, "component:default/zurich")?
                    .expect("stored");
                assert_eq!(serde_json::from_str::<serde_json::Value>(&text)?, first);

                // One tag swapped: only its rows change, and the rest keep their ids.
                let ids_before: Vec<i64> = with_conn!(conn, c => s::table
                    .filter(s::entity_id.eq("e1"))
                    .filter(s::key.eq("metadata.name"))
                    .select(s::id)
                    .load(*c))?;
                let second = component(&["java", "rust"]);
                write(conn, &second, true);
                assert_eq!(stored_rows(conn), expected_rows(&second));
                let ids_after: Vec<i64> = with_conn!(conn, c => s::table
                    .filter(s::entity_id.eq("e1"))
                    .filter(s::key.eq("metadata.name"))
                    .select(s::id)
                    .load(*c))?;
                assert_eq!(ids_before, ids_after, "unchanged rows are left in place");

                delete_final_entity(conn, "e1")?;
                assert!(stored_rows(conn).is_empty());
                Ok::<_, CatalogError>(())
            })
            .expect("round trip");
    }

    portico_test_support::test_on_both_backends!(final_entities_round_trip, check_round_trip);

    /// Batch transactions plan without sequential scans on PostgreSQL, and the setting ends
    /// with the transaction: the pooled connection serves API reads next.
    #[tokio::test]
    async fn batch_planning_ends_with_its_transaction() {
        let Some(test_db) = TestDb::postgres() else {
            return;
        };
        let setting = |conn: &mut DbConn<'_>| -> CatalogResult<String> {
            #[derive(QueryableByName)]
            struct Setting {
                #[diesel(sql_type = diesel::sql_types::Text)]
                enable_seqscan: String,
            }
            let row: Setting =
                with_conn!(conn, c => diesel::sql_query("SHOW enable_seqscan").get_result(*c))?;
            Ok(row.enable_seqscan)
        };
        // Reads after batches, on the connections the batches returned to the pool.
        for _ in 0..12 {
            let inside = test_db.db.write_batch(setting).await.expect("batch");
            assert_eq!(inside, "off");
        }
        for _ in 0..12 {
            let after = test_db.db.read(setting).await.expect("read");
            assert_eq!(after, "on");
        }
    }
}
