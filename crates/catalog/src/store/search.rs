//! Final entities and their search rows and facet counts, all written together at stitch time
//! so that reads never recompute them.

use crate::error::CatalogResult;
use diesel::prelude::*;
use portico_query::{build_search_rows, SearchRow};
use portico_store::schema::{facet_counts as fc, final_entities as fe, search as s};
use portico_store::{with_conn, DbConn};
use std::collections::{BTreeMap, HashMap};

/// Facet keys whose counts are kept up to date. Keys that are unique per entity (names,
/// uids, annotations) would make the table as large as the search table for no gain; facets
/// on them are computed from the search rows instead.
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
    ) || key.starts_with("relations.")
        || key.starts_with("metadata.labels.")
}

/// Writes a stitched entity if its hash changed. Returns whether anything was written.
pub fn write_final_entity(
    conn: &mut DbConn<'_>,
    entity_id: &str,
    entity_ref: &str,
    final_entity: &serde_json::Value,
    hash: &str,
    now: i64,
) -> CatalogResult<bool> {
    let existing: Option<String> = with_conn!(conn, c => fe::table
        .filter(fe::entity_id.eq(entity_id))
        .select(fe::hash)
        .first(*c)
        .optional())?;
    if existing.as_deref() == Some(hash) {
        return Ok(false);
    }
    let text = serde_json::to_string(final_entity)?;
    if existing.is_some() {
        with_conn!(conn, c => diesel::update(fe::table.filter(fe::entity_id.eq(entity_id)))
            .set((fe::hash.eq(hash), fe::final_entity.eq(&text), fe::last_updated_at.eq(now)))
            .execute(*c))?;
    } else {
        with_conn!(conn, c => diesel::insert_into(fe::table)
            .values((
                fe::entity_id.eq(entity_id),
                fe::entity_ref.eq(entity_ref),
                fe::hash.eq(hash),
                fe::final_entity.eq(&text),
                fe::last_updated_at.eq(now),
            ))
            .execute(*c))?;
    }
    let new_rows = build_search_rows(final_entity)
        .map_err(|e| crate::error::CatalogError::Corrupt(e.to_string()))?;
    replace_search_rows(conn, entity_id, new_rows)?;
    Ok(true)
}

/// Removes a final entity with its search rows, keeping facet counts right.
pub fn delete_final_entity(conn: &mut DbConn<'_>, entity_id: &str) -> CatalogResult<()> {
    replace_search_rows(conn, entity_id, Vec::new())?;
    with_conn!(conn, c => diesel::delete(fe::table.filter(fe::entity_id.eq(entity_id))).execute(*c))?;
    Ok(())
}

/// Brings an entity's search rows from what is stored to `new_rows`, touching only the rows
/// that differ: an entity gaining one relation costs one insert, not a rewrite of all its
/// rows (large groups are restitched often while their members are processed).
fn replace_search_rows(
    conn: &mut DbConn<'_>,
    entity_id: &str,
    new_rows: Vec<SearchRow>,
) -> CatalogResult<()> {
    type RowKey = (String, Option<String>, Option<String>);
    let old: Vec<(i64, String, Option<String>, Option<String>)> = with_conn!(conn, c => s::table
        .filter(s::entity_id.eq(entity_id))
        .select((s::id, s::key, s::original_value, s::value))
        .load(*c))?;
    // Multiset difference: rows present in both stay.
    let mut wanted: HashMap<RowKey, usize> = HashMap::new();
    for r in &new_rows {
        *wanted
            .entry((r.key.clone(), r.original_value.clone(), r.value.clone()))
            .or_default() += 1;
    }
    let mut stale_ids = Vec::new();
    let mut deltas: BTreeMap<(String, String), i64> = BTreeMap::new();
    for (id, key, original, value) in old {
        let row_key = (key, original, value);
        match wanted.get_mut(&row_key) {
            Some(n) if *n > 0 => *n -= 1,
            _ => {
                stale_ids.push(id);
                if let (true, Some(v)) = (is_counted_facet_key(&row_key.0), &row_key.1) {
                    *deltas.entry((row_key.0.clone(), v.clone())).or_default() -= 1;
                }
            }
        }
    }
    let mut added = Vec::new();
    for r in &new_rows {
        let row_key = (r.key.clone(), r.original_value.clone(), r.value.clone());
        if let Some(n) = wanted.get_mut(&row_key) {
            if *n > 0 {
                *n -= 1;
                added.push(r);
                if let (true, Some(v)) = (is_counted_facet_key(&r.key), &r.original_value) {
                    *deltas.entry((r.key.clone(), v.clone())).or_default() += 1;
                }
            }
        }
    }
    for chunk in stale_ids.chunks(500) {
        with_conn!(conn, c => diesel::delete(s::table.filter(s::id.eq_any(chunk))).execute(*c))?;
    }
    let rows: Vec<_> = added
        .iter()
        .map(|r| {
            (
                s::entity_id.eq(entity_id),
                s::key.eq(&r.key),
                s::original_value.eq(r.original_value.as_deref()),
                s::value.eq(r.value.as_deref()),
            )
        })
        .collect();
    for chunk in rows.chunks(150) {
        with_conn!(conn, c => diesel::insert_into(s::table).values(chunk).execute(*c))?;
    }
    for ((key, value), delta) in deltas {
        if delta == 0 {
            continue;
        }
        with_conn!(conn, c => diesel::insert_into(fc::table)
            .values((fc::key.eq(&key), fc::value.eq(&value), fc::count.eq(delta)))
            .on_conflict((fc::key, fc::value))
            .do_update()
            .set(fc::count.eq(fc::count + delta))
            .execute(*c))?;
    }
    Ok(())
}
