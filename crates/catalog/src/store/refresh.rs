//! The processing state: unprocessed entities, who emitted them, their processing output, and
//! the claims that share processing and stitching work between replicas.

use crate::error::CatalogResult;
use crate::processing::{EmittedEntity, StatusItem};
use diesel::prelude::*;
use diesel::sql_types::{BigInt, Text};
use portico_store::schema::{
    refresh_state as rs, refresh_state_references as rr, relations as rel, stitch_queue as sq,
};
use portico_store::{with_conn, DbConn};
use std::collections::{BTreeSet, HashMap, HashSet};

/// An entity claimed for processing.
#[derive(Debug, Clone, QueryableByName)]
pub struct ClaimedEntity {
    #[diesel(sql_type = Text)]
    pub entity_id: String,
    #[diesel(sql_type = Text)]
    pub entity_ref: String,
    #[diesel(sql_type = Text)]
    pub unprocessed_entity: String,
    #[diesel(sql_type = diesel::sql_types::Nullable<Text>)]
    pub result_hash: Option<String>,
    #[diesel(sql_type = diesel::sql_types::Nullable<Text>)]
    pub location_key: Option<String>,
    /// Whether a processed form is stored. Relations are written only with one, so an
    /// entity without has none stored.
    #[diesel(sql_type = diesel::sql_types::Bool)]
    pub processed_before: bool,
}

/// Claims up to `limit` entities that are due, by pushing their next update `interval_ms`
/// into the future; on PostgreSQL rows another replica is claiming are skipped.
pub fn claim_due_entities(
    conn: &mut DbConn<'_>,
    now: i64,
    limit: i64,
    interval_ms: i64,
) -> CatalogResult<Vec<ClaimedEntity>> {
    let rows = match conn {
        DbConn::Sqlite(c) => diesel::sql_query(
            "UPDATE refresh_state SET next_update_at = ? WHERE entity_id IN \
             (SELECT entity_id FROM refresh_state WHERE next_update_at <= ? \
              ORDER BY next_update_at LIMIT ?) \
             RETURNING entity_id, entity_ref, unprocessed_entity, result_hash, location_key, \
             processed_entity IS NOT NULL AS processed_before",
        )
        .bind::<BigInt, _>(now + interval_ms)
        .bind::<BigInt, _>(now)
        .bind::<BigInt, _>(limit)
        .load::<ClaimedEntity>(*c)?,
        DbConn::Postgres(c) => diesel::sql_query(
            "UPDATE refresh_state SET next_update_at = $1 WHERE entity_id IN \
             (SELECT entity_id FROM refresh_state WHERE next_update_at <= $2 \
              ORDER BY next_update_at LIMIT $3 FOR UPDATE SKIP LOCKED) \
             RETURNING entity_id, entity_ref, unprocessed_entity, result_hash, location_key, \
             processed_entity IS NOT NULL AS processed_before",
        )
        .bind::<BigInt, _>(now + interval_ms)
        .bind::<BigInt, _>(now)
        .bind::<BigInt, _>(limit)
        .load::<ClaimedEntity>(*c)?,
    };
    Ok(rows)
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum UpsertOutcome {
    Inserted,
    Updated,
    Unchanged,
    /// Another location already provides this entity.
    Conflict {
        existing_location_key: String,
    },
}

/// Writes an emitted entity's unprocessed form. A new or changed entity becomes due now;
/// an entity owned by another location key is left alone (conflict) unless nothing emits
/// it any more, in which case this location takes it over.
pub fn upsert_emitted_entity(
    conn: &mut DbConn<'_>,
    source: ReferenceSource<'_>,
    emitted: &EmittedEntity,
    now: i64,
) -> CatalogResult<UpsertOutcome> {
    let text = &emitted.text;
    let hash = emitted.hash.as_str();
    let existing: Option<(String, Option<String>)> = with_conn!(conn, c => rs::table
        .filter(rs::entity_ref.eq(&emitted.entity_ref))
        .select((rs::unprocessed_hash, rs::location_key))
        .first(*c)
        .optional())?;
    match existing {
        None => {
            // Time-ordered ids: the many indexes keyed by entity id grow at their end
            // instead of at random pages, which keeps large ingests fast.
            let id = uuid::Uuid::now_v7().to_string();
            let inserted = with_conn!(conn, c => diesel::insert_into(rs::table)
                .values((
                    rs::entity_id.eq(&id),
                    rs::entity_ref.eq(&emitted.entity_ref),
                    rs::unprocessed_entity.eq(text),
                    rs::unprocessed_hash.eq(hash),
                    rs::errors.eq("[]"),
                    rs::location_key.eq(&emitted.location_key),
                    rs::next_update_at.eq(now),
                    rs::last_discovery_at.eq(now),
                ))
                .on_conflict_do_nothing()
                .execute(*c))?;
            if inserted == 0 {
                // Another replica inserted it between our read and write.
                return Ok(UpsertOutcome::Conflict {
                    existing_location_key: "another processor".into(),
                });
            }
            Ok(UpsertOutcome::Inserted)
        }
        Some((old_hash, old_key)) => {
            let owned = old_key.as_deref().is_none_or(|k| k == emitted.location_key);
            if !owned {
                // The same parent moving an entity between its files is a move, not a
                // conflict; another parent still emitting it is.
                let emitters: Vec<(Option<String>, Option<String>)> = with_conn!(conn, c => rr::table
                    .filter(rr::target_entity_ref.eq(&emitted.entity_ref))
                    .select((rr::source_key, rr::source_entity_ref))
                    .load(*c))?;
                let others = emitters.iter().any(|(key, parent)| match source {
                    ReferenceSource::Provider(k) => key.as_deref() != Some(k),
                    ReferenceSource::Entity(p) => parent.as_deref() != Some(p),
                });
                if others {
                    return Ok(UpsertOutcome::Conflict {
                        existing_location_key: old_key.unwrap_or_default(),
                    });
                }
            }
            if owned && old_hash == hash {
                with_conn!(conn, c => diesel::update(rs::table.filter(rs::entity_ref.eq(&emitted.entity_ref)))
                    .set(rs::last_discovery_at.eq(now))
                    .execute(*c))?;
                return Ok(UpsertOutcome::Unchanged);
            }
            with_conn!(conn, c => diesel::update(rs::table.filter(rs::entity_ref.eq(&emitted.entity_ref)))
                .set((
                    rs::unprocessed_entity.eq(text),
                    rs::unprocessed_hash.eq(hash),
                    rs::location_key.eq(&emitted.location_key),
                    rs::next_update_at.eq(now),
                    rs::last_discovery_at.eq(now),
                ))
                .execute(*c))?;
            Ok(UpsertOutcome::Updated)
        }
    }
}

/// [`upsert_emitted_entity`] for many entities, with the same outcomes in the same order, a
/// chunk of entities per statement for the common cases (new, and unchanged from the same
/// file): a location may emit a whole catalog, and one round trip per child made that the
/// slowest write of an ingest. The rest (changed, moved, conflicting, or emitted twice in one
/// chunk) take the one-by-one path.
pub fn upsert_emitted_entities(
    conn: &mut DbConn<'_>,
    source: ReferenceSource<'_>,
    emitted: &[EmittedEntity],
    now: i64,
) -> CatalogResult<Vec<UpsertOutcome>> {
    let mut outcomes = Vec::with_capacity(emitted.len());
    for chunk in emitted.chunks(UPSERT_CHUNK) {
        let refs: Vec<&str> = chunk.iter().map(|e| e.entity_ref.as_str()).collect();
        let existing: HashMap<String, (String, Option<String>)> = with_conn!(conn, c => rs::table
            .filter(rs::entity_ref.eq_any(&refs))
            .select((rs::entity_ref, rs::unprocessed_hash, rs::location_key))
            .load::<(String, String, Option<String>)>(*c))?
        .into_iter()
        .map(|(entity_ref, hash, key)| (entity_ref, (hash, key)))
        .collect();
        let mut chunk_outcomes: Vec<Option<UpsertOutcome>> = vec![None; chunk.len()];
        let mut seen = HashSet::new();
        let mut new = Vec::new();
        let mut unchanged = Vec::new();
        let mut one_by_one = Vec::new();
        for (i, e) in chunk.iter().enumerate() {
            if !seen.insert(e.entity_ref.as_str()) {
                one_by_one.push(i);
                continue;
            }
            match existing.get(&e.entity_ref) {
                None => new.push(i),
                Some((hash, key))
                    if *hash == e.hash && key.as_deref().is_none_or(|k| k == e.location_key) =>
                {
                    unchanged.push(i)
                }
                Some(_) => one_by_one.push(i),
            }
        }
        if !new.is_empty() {
            // Time-ordered ids: the many indexes keyed by entity id grow at their end
            // instead of at random pages, which keeps large ingests fast.
            let ids: Vec<String> = new
                .iter()
                .map(|_| uuid::Uuid::now_v7().to_string())
                .collect();
            let rows: Vec<_> = new
                .iter()
                .zip(&ids)
                .map(|(&i, id)| {
                    let e = &chunk[i];
                    (
                        rs::entity_id.eq(id),
                        rs::entity_ref.eq(&e.entity_ref),
                        rs::unprocessed_entity.eq(&e.text),
                        rs::unprocessed_hash.eq(&e.hash),
                        rs::errors.eq("[]"),
                        rs::location_key.eq(&e.location_key),
                        rs::next_update_at.eq(now),
                        rs::last_discovery_at.eq(now),
                    )
                })
                .collect();
            let inserted = with_conn!(conn, c => diesel::insert_into(rs::table)
                .values(&rows)
                .on_conflict_do_nothing()
                .execute(*c))?;
            let ours: HashSet<String> = if inserted == new.len() {
                ids.iter().cloned().collect()
            } else {
                // Another replica inserted some of them between our read and write.
                with_conn!(conn, c => rs::table
                    .filter(rs::entity_id.eq_any(&ids))
                    .select(rs::entity_id)
                    .load::<String>(*c))?
                .into_iter()
                .collect()
            };
            for (&i, id) in new.iter().zip(&ids) {
                chunk_outcomes[i] = Some(if ours.contains(id) {
                    UpsertOutcome::Inserted
                } else {
                    UpsertOutcome::Conflict {
                        existing_location_key: "another processor".into(),
                    }
                });
            }
        }
        if !unchanged.is_empty() {
            let unchanged_refs: Vec<&str> = unchanged
                .iter()
                .map(|&i| chunk[i].entity_ref.as_str())
                .collect();
            with_conn!(conn, c => diesel::update(rs::table.filter(rs::entity_ref.eq_any(&unchanged_refs)))
                .set(rs::last_discovery_at.eq(now))
                .execute(*c))?;
            for &i in &unchanged {
                chunk_outcomes[i] = Some(UpsertOutcome::Unchanged);
            }
        }
        for i in one_by_one {
            chunk_outcomes[i] = Some(upsert_emitted_entity(conn, source, &chunk[i], now)?);
        }
        outcomes.extend(chunk_outcomes.into_iter().flatten());
    }
    Ok(outcomes)
}

/// Emitted entities per chunk of [`upsert_emitted_entities`]: eight bound values each, well
/// under both backends' bind-parameter limits.
const UPSERT_CHUNK: usize = 500;

/// Replaces the set of entities a provider (`source_key`) or a parent entity emits. Returns
/// the refs that lost this edge (candidates for orphaning). Refs whose current location key is
/// in `keep_location_keys` (files that could not be read this time) keep their edge.
pub fn replace_references(
    conn: &mut DbConn<'_>,
    source: ReferenceSource<'_>,
    targets: &[String],
    keep_location_keys: &[String],
) -> CatalogResult<Vec<String>> {
    let old: Vec<String> = match source {
        ReferenceSource::Provider(key) => with_conn!(conn, c => rr::table
            .filter(rr::source_key.eq(key))
            .select(rr::target_entity_ref)
            .load(*c))?,
        ReferenceSource::Entity(parent) => with_conn!(conn, c => rr::table
            .filter(rr::source_entity_ref.eq(parent))
            .select(rr::target_entity_ref)
            .load(*c))?,
    };
    let new: BTreeSet<&String> = targets.iter().collect();
    let old_set: BTreeSet<&String> = old.iter().collect();
    let mut removed: Vec<String> = old_set.difference(&new).map(|s| (*s).clone()).collect();
    if !keep_location_keys.is_empty() && !removed.is_empty() {
        let kept: HashSet<String> = with_conn!(conn, c => rs::table
            .filter(rs::entity_ref.eq_any(&removed))
            .filter(rs::location_key.eq_any(keep_location_keys))
            .select(rs::entity_ref)
            .load::<String>(*c))?
        .into_iter()
        .collect();
        removed.retain(|r| !kept.contains(r));
    }
    for chunk in removed.chunks(500) {
        match source {
            ReferenceSource::Provider(key) => with_conn!(conn, c => diesel::delete(
                rr::table.filter(rr::source_key.eq(key)).filter(rr::target_entity_ref.eq_any(chunk)))
                .execute(*c))?,
            ReferenceSource::Entity(parent) => with_conn!(conn, c => diesel::delete(
                rr::table.filter(rr::source_entity_ref.eq(parent)).filter(rr::target_entity_ref.eq_any(chunk)))
                .execute(*c))?,
        };
    }
    let added: Vec<&String> = new.difference(&old_set).copied().collect();
    insert_references(conn, source, &added)?;
    Ok(removed)
}

/// Records `targets` as emitted by `source`, leaving the edges it has already and removing
/// none (a Location's children are recorded a chunk at a time while it is read; the edges
/// it no longer has are removed by [`replace_references`] when its processing is written).
pub fn add_references(
    conn: &mut DbConn<'_>,
    source: ReferenceSource<'_>,
    targets: &[String],
) -> CatalogResult<()> {
    for chunk in targets.chunks(500) {
        // Looked up by target alone, and the source compared here: a location's edges all
        // share one source, and PostgreSQL's generic plan for a source-and-targets query
        // could walk every edge of that source for each chunk.
        let edges: Vec<(Option<String>, Option<String>, String)> = with_conn!(conn, c => rr::table
            .filter(rr::target_entity_ref.eq_any(chunk))
            .select((rr::source_key, rr::source_entity_ref, rr::target_entity_ref))
            .load(*c))?;
        let existing: HashSet<String> = edges
            .into_iter()
            .filter(|(key, parent, _)| match source {
                ReferenceSource::Provider(k) => key.as_deref() == Some(k),
                ReferenceSource::Entity(p) => parent.as_deref() == Some(p),
            })
            .map(|(_, _, target)| target)
            .collect();
        let mut missing: Vec<&String> = chunk.iter().filter(|t| !existing.contains(*t)).collect();
        missing.sort();
        missing.dedup();
        insert_references(conn, source, &missing)?;
    }
    Ok(())
}

/// Inserts one edge from `source` to each of `targets`.
fn insert_references(
    conn: &mut DbConn<'_>,
    source: ReferenceSource<'_>,
    targets: &[&String],
) -> CatalogResult<()> {
    for chunk in targets.chunks(500) {
        match source {
            ReferenceSource::Provider(key) => {
                let rows: Vec<_> = chunk
                    .iter()
                    .map(|t| (rr::source_key.eq(key), rr::target_entity_ref.eq(*t)))
                    .collect();
                with_conn!(conn, c => diesel::insert_into(rr::table).values(&rows).execute(*c))?;
            }
            ReferenceSource::Entity(parent) => {
                let rows: Vec<_> = chunk
                    .iter()
                    .map(|t| {
                        (
                            rr::source_entity_ref.eq(parent),
                            rr::target_entity_ref.eq(*t),
                        )
                    })
                    .collect();
                with_conn!(conn, c => diesel::insert_into(rr::table).values(&rows).execute(*c))?;
            }
        }
    }
    Ok(())
}

#[derive(Debug, Clone, Copy)]
pub enum ReferenceSource<'a> {
    Provider(&'a str),
    Entity(&'a str),
}

/// Which of `refs` nothing emits any more.
pub fn unreferenced(conn: &mut DbConn<'_>, refs: &[String]) -> CatalogResult<Vec<String>> {
    let mut out = Vec::new();
    for chunk in refs.chunks(500) {
        let referenced: HashSet<String> = with_conn!(conn, c => rr::table
            .filter(rr::target_entity_ref.eq_any(chunk))
            .select(rr::target_entity_ref)
            .distinct()
            .load::<String>(*c))?
        .into_iter()
        .collect();
        out.extend(chunk.iter().filter(|r| !referenced.contains(*r)).cloned());
    }
    Ok(out)
}

/// Deletes entities and, recursively, the children only they emitted. Returns the refs of
/// surviving entities whose relations changed (they need stitching).
pub fn delete_entities_and_orphaned_children(
    conn: &mut DbConn<'_>,
    refs: Vec<String>,
) -> CatalogResult<Vec<String>> {
    let mut to_stitch = BTreeSet::new();
    let mut deleted = HashSet::new();
    let mut queue = refs;
    while let Some(entity_ref) = queue.pop() {
        if !deleted.insert(entity_ref.clone()) {
            continue;
        }
        let id: Option<String> = with_conn!(conn, c => rs::table
            .filter(rs::entity_ref.eq(&entity_ref))
            .select(rs::entity_id)
            .first(*c)
            .optional())?;
        let Some(id) = id else { continue };
        // Reverse halves this entity emitted live on other entities: restitch them.
        let touched: Vec<String> = with_conn!(conn, c => rel::table
            .filter(rel::originating_entity_id.eq(&id))
            .select(rel::source_entity_ref)
            .distinct()
            .load(*c))?;
        to_stitch.extend(touched);
        with_conn!(conn, c => diesel::delete(rel::table.filter(rel::originating_entity_id.eq(&id))).execute(*c))?;
        crate::store::delete_final_entity(conn, &id)?;
        with_conn!(conn, c => diesel::delete(rs::table.filter(rs::entity_id.eq(&id))).execute(*c))?;
        with_conn!(conn, c => diesel::delete(sq::table.filter(sq::entity_ref.eq(&entity_ref))).execute(*c))?;
        with_conn!(conn, c => diesel::delete(rr::table.filter(rr::target_entity_ref.eq(&entity_ref))).execute(*c))?;
        let children: Vec<String> = with_conn!(conn, c => rr::table
            .filter(rr::source_entity_ref.eq(&entity_ref))
            .select(rr::target_entity_ref)
            .load(*c))?;
        with_conn!(conn, c => diesel::delete(rr::table.filter(rr::source_entity_ref.eq(&entity_ref))).execute(*c))?;
        queue.extend(unreferenced(conn, &children)?);
    }
    Ok(to_stitch
        .into_iter()
        .filter(|r| !deleted.contains(r))
        .collect())
}

/// Stores a processing result. Returns false when the entity was deleted meanwhile.
pub fn write_processing_result(
    conn: &mut DbConn<'_>,
    entity_id: &str,
    processed: Option<&serde_json::Value>,
    result_hash: &str,
    errors: &[StatusItem],
) -> CatalogResult<bool> {
    let errors = serde_json::to_string(errors)?;
    let n = match processed {
        Some(p) => {
            let text = serde_json::to_string(p)?;
            with_conn!(conn, c => diesel::update(rs::table.filter(rs::entity_id.eq(entity_id)))
                .set((rs::processed_entity.eq(Some(text)), rs::result_hash.eq(Some(result_hash)), rs::errors.eq(&errors)))
                .execute(*c))?
        }
        None => with_conn!(conn, c => diesel::update(rs::table.filter(rs::entity_id.eq(entity_id)))
            .set((rs::result_hash.eq(Some(result_hash)), rs::errors.eq(&errors)))
            .execute(*c))?,
    };
    Ok(n > 0)
}

/// A processed entity's result, for [`write_processed_results`].
pub struct ProcessedResult<'a> {
    pub entity_id: &'a str,
    /// The processed entity, as JSON text.
    pub processed: String,
    pub result_hash: &'a str,
    /// The errors, as JSON text.
    pub errors: String,
}

/// [`write_processing_result`] for many processed entities, a chunk per statement: one
/// round trip per entity was most of a processing batch's write time on PostgreSQL.
/// Returns the ids written (an entity deleted meanwhile is not).
pub fn write_processed_results(
    conn: &mut DbConn<'_>,
    results: &[ProcessedResult<'_>],
) -> CatalogResult<HashSet<String>> {
    #[derive(QueryableByName)]
    struct Written {
        #[diesel(sql_type = Text)]
        entity_id: String,
    }
    let mut written = HashSet::with_capacity(results.len());
    for chunk in results.chunks(RESULT_CHUNK) {
        let mut query = crate::store::SqlBuilder::new(conn.backend());
        query.push("WITH v (entity_id, processed_entity, result_hash, errors) AS (VALUES ");
        for (i, r) in chunk.iter().enumerate() {
            query.push(if i == 0 { "(" } else { ", (" });
            query.bind_text(r.entity_id).push(", ");
            query.bind_text(&r.processed).push(", ");
            query.bind_text(r.result_hash).push(", ");
            query.bind_text(&r.errors).push(")");
        }
        query.push(
            ") UPDATE refresh_state SET processed_entity = v.processed_entity, \
             result_hash = v.result_hash, errors = v.errors \
             FROM v WHERE refresh_state.entity_id = v.entity_id RETURNING refresh_state.entity_id",
        );
        written.extend(
            query
                .load::<Written>(conn)?
                .into_iter()
                .map(|w| w.entity_id),
        );
    }
    Ok(written)
}

/// Results per statement of [`write_processed_results`]: four bound values each.
const RESULT_CHUNK: usize = 200;

/// Replaces the relation halves an entity's processing emitted. Returns every source ref
/// whose relations changed (old and new), which all need stitching.
pub fn replace_relations(
    conn: &mut DbConn<'_>,
    entity_id: &str,
    relations: &[portico_model::Relation],
) -> CatalogResult<Vec<String>> {
    replace_relations_many(conn, &[(entity_id, relations)], &HashSet::new())
}

/// [`replace_relations`] for many entities, a chunk of entities per statement. Returns every
/// source ref whose relations changed. Entities in `first_results` (processed for the first
/// time) have none stored, so none are looked up or deleted for them: in a bulk ingest
/// nearly every entity is one, and those probes were a tenth of PostgreSQL's work.
pub fn replace_relations_many(
    conn: &mut DbConn<'_>,
    entities: &[(&str, &[portico_model::Relation])],
    first_results: &HashSet<&str>,
) -> CatalogResult<Vec<String>> {
    type Edge = (String, String, String);
    let mut old: HashMap<String, BTreeSet<Edge>> = HashMap::new();
    let stored: Vec<&str> = entities
        .iter()
        .map(|(id, _)| *id)
        .filter(|id| !first_results.contains(id))
        .collect();
    for ids in stored.chunks(500) {
        let rows: Vec<(String, String, String, String)> = with_conn!(conn, c => rel::table
            .filter(rel::originating_entity_id.eq_any(ids))
            .select((rel::originating_entity_id, rel::source_entity_ref, rel::relation_type, rel::target_entity_ref))
            .load(*c))?;
        for (id, source, relation_type, target) in rows {
            old.entry(id)
                .or_default()
                .insert((source, relation_type, target));
        }
    }
    let mut affected = BTreeSet::new();
    // Changed entities that had edges stored: those edges are deleted first.
    let mut replaced_ids = Vec::new();
    let mut new_rows: Vec<(&str, Edge)> = Vec::new();
    for (id, relations) in entities {
        let new: BTreeSet<Edge> = relations
            .iter()
            .map(|r| {
                (
                    r.source.to_string(),
                    r.relation_type.clone(),
                    r.target.to_string(),
                )
            })
            .collect();
        let old_set = old.remove(*id).unwrap_or_default();
        if old_set == new {
            continue;
        }
        affected.extend(old_set.iter().chain(new.iter()).map(|(s, _, _)| s.clone()));
        if !old_set.is_empty() {
            replaced_ids.push(*id);
        }
        new_rows.extend(new.into_iter().map(|edge| (*id, edge)));
    }
    for chunk in replaced_ids.chunks(500) {
        with_conn!(conn, c => diesel::delete(rel::table.filter(rel::originating_entity_id.eq_any(chunk))).execute(*c))?;
    }
    let rows: Vec<_> = new_rows
        .iter()
        .map(|(id, (s, t, target))| {
            (
                rel::originating_entity_id.eq(*id),
                rel::source_entity_ref.eq(s),
                rel::relation_type.eq(t),
                rel::target_entity_ref.eq(target),
            )
        })
        .collect();
    portico_store::bulk_insert!(conn, rel::table, &rows, 200)?;
    Ok(affected.into_iter().collect())
}

/// When a requested stitch becomes due.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StitchDue {
    /// Now: the entity's own processing result changed, or its place in the catalog did.
    Now,
    /// `delay_ms` after the latest request, but no later than `longest_ms` after the first
    /// one still pending. For entities whose relations others change while a bulk ingest
    /// keeps processing busy: an API that a thousand components consume is then stitched
    /// once, when they are done, rather than once per processing window.
    Debounced { delay_ms: i64, longest_ms: i64 },
}

/// Requests a stitch of each of `refs` that exists, with a fresh ticket (see [`StitchDue`]).
pub fn request_stitch(
    conn: &mut DbConn<'_>,
    refs: &[String],
    now: i64,
    due: StitchDue,
) -> CatalogResult<()> {
    match due {
        StitchDue::Now => request_stitches(conn, refs.to_vec(), Vec::new(), now, due),
        StitchDue::Debounced { .. } => request_stitches(conn, Vec::new(), refs.to_vec(), now, due),
    }
}

/// Requests stitches of the entities whose own result changed (`own`, due now) and of the
/// others whose relations changed with them (`others`, due as `others_due` says).
pub fn request_stitches(
    conn: &mut DbConn<'_>,
    mut own: Vec<String>,
    mut others: Vec<String>,
    now: i64,
    others_due: StitchDue,
) -> CatalogResult<()> {
    own.sort_unstable();
    own.dedup();
    others.sort_unstable();
    others.dedup();
    others.retain(|r| own.binary_search(r).is_err());
    let mut all: Vec<&String> = own.iter().chain(&others).collect();
    all.sort_unstable();
    lock_stitch_requests(conn, &all)?;
    upsert_stitch_requests(conn, &own, now, StitchDue::Now)?;
    upsert_stitch_requests(conn, &others, now, others_due)
}

/// Locks the pending requests of `sorted_refs` in that (bytewise) order, on PostgreSQL.
/// Processing requests stitches while another worker completes them; both lock their
/// queue rows this way first, so neither waits for the other in a cycle (a deadlock).
fn lock_stitch_requests(conn: &mut DbConn<'_>, sorted_refs: &[&String]) -> CatalogResult<()> {
    if let DbConn::Postgres(c) = conn {
        for chunk in sorted_refs.chunks(500) {
            diesel::sql_query(
                "SELECT entity_ref FROM stitch_queue WHERE entity_ref = ANY($1) \
                 ORDER BY entity_ref COLLATE \"C\" FOR UPDATE",
            )
            .bind::<diesel::sql_types::Array<Text>, _>(chunk)
            .execute(*c)?;
        }
    }
    Ok(())
}

/// Writes stitch requests of `refs` (sorted) that exist, each chunk with a fresh ticket.
fn upsert_stitch_requests(
    conn: &mut DbConn<'_>,
    refs: &[String],
    now: i64,
    due: StitchDue,
) -> CatalogResult<()> {
    // The backends' spellings of two-argument min and max, and of ordering refs the way
    // Rust sorts them (see [`lock_stitch_requests`]).
    let (least, greatest, order) = match conn {
        DbConn::Sqlite(_) => ("min", "max", " ORDER BY entity_ref"),
        DbConn::Postgres(_) => ("LEAST", "GREATEST", " ORDER BY entity_ref COLLATE \"C\""),
    };
    let (first_due, on_conflict) = match due {
        StitchDue::Now => (now, format!("{least}(stitch_queue.due_at, excluded.due_at)")),
        StitchDue::Debounced {
            delay_ms,
            longest_ms,
        } => (
            now + delay_ms,
            format!(
                "{greatest}(stitch_queue.due_at, {least}(excluded.due_at, stitch_queue.first_requested_at + {longest_ms}))"
            ),
        ),
    };
    for chunk in refs.chunks(500) {
        let ticket = uuid::Uuid::new_v4().to_string();
        let mut query = crate::store::SqlBuilder::new(conn.backend());
        query.push("INSERT INTO stitch_queue (entity_ref, due_at, first_requested_at, ticket) SELECT entity_ref, ");
        query.bind_int(first_due).push(", ");
        query.bind_int(now).push(", ");
        query
            .bind_text(&ticket)
            .push(" FROM refresh_state WHERE entity_ref IN ");
        query
            .bind_list(chunk)
            .push(order)
            .push(" ON CONFLICT (entity_ref) DO UPDATE SET due_at = ");
        query.push(&on_conflict).push(", ticket = excluded.ticket");
        // A pending request that no worker holds is left as it is unless this one moves
        // it by a second or more: whoever stitches it later reads the entity as it is then.
        // Without this, each batch of a bulk ingest rewrote the queue row of every group
        // and API its components touched.
        query
            .push(" WHERE stitch_queue.claimed_until IS NOT NULL OR abs((")
            .push(&on_conflict)
            .push(&format!(
                ") - stitch_queue.due_at) >= {REQUEST_PRECISION_MS}"
            ));
        query.execute(conn)?;
    }
    Ok(())
}

/// How far a request must move a pending, unclaimed stitch's due time to be written.
const REQUEST_PRECISION_MS: i64 = 1_000;

/// Makes every deferred stitch due now (processing has settled: nothing more will add to
/// those entities' relations for now).
pub fn release_deferred_stitches(conn: &mut DbConn<'_>, now: i64) -> CatalogResult<usize> {
    Ok(
        with_conn!(conn, c => diesel::update(sq::table.filter(sq::due_at.gt(now)))
        .set(sq::due_at.eq(now))
        .execute(*c))?,
    )
}

#[derive(Debug, Clone, QueryableByName)]
pub struct StitchClaim {
    #[diesel(sql_type = Text)]
    pub entity_ref: String,
    #[diesel(sql_type = Text)]
    pub ticket: String,
}

/// How long a claimed stitch may take before another worker retries it.
const STITCH_TIMEOUT_MS: i64 = 60_000;

/// Claims stitches that are due and that no other worker holds.
pub fn claim_stitches(
    conn: &mut DbConn<'_>,
    now: i64,
    limit: i64,
) -> CatalogResult<Vec<StitchClaim>> {
    let rows = match conn {
        DbConn::Sqlite(c) => diesel::sql_query(
            "UPDATE stitch_queue SET claimed_until = ? WHERE entity_ref IN \
             (SELECT entity_ref FROM stitch_queue WHERE due_at <= ? \
              AND (claimed_until IS NULL OR claimed_until <= ?) ORDER BY due_at LIMIT ?) \
             RETURNING entity_ref, ticket",
        )
        .bind::<BigInt, _>(now + STITCH_TIMEOUT_MS)
        .bind::<BigInt, _>(now)
        .bind::<BigInt, _>(now)
        .bind::<BigInt, _>(limit)
        .load::<StitchClaim>(*c)?,
        DbConn::Postgres(c) => diesel::sql_query(
            "UPDATE stitch_queue SET claimed_until = $1 WHERE entity_ref IN \
             (SELECT entity_ref FROM stitch_queue WHERE due_at <= $2 \
              AND (claimed_until IS NULL OR claimed_until <= $2) ORDER BY due_at LIMIT $3 \
              FOR UPDATE SKIP LOCKED) \
             RETURNING entity_ref, ticket",
        )
        .bind::<BigInt, _>(now + STITCH_TIMEOUT_MS)
        .bind::<BigInt, _>(now)
        .bind::<BigInt, _>(limit)
        .load::<StitchClaim>(*c)?,
    };
    Ok(rows)
}

/// Removes completed stitches; those requested again since they were claimed (another
/// ticket) stay pending and become free to claim.
pub fn complete_stitches(conn: &mut DbConn<'_>, claims: &[StitchClaim]) -> CatalogResult<()> {
    let mut sorted: Vec<&String> = claims.iter().map(|c| &c.entity_ref).collect();
    sorted.sort_unstable();
    lock_stitch_requests(conn, &sorted)?;
    // Tickets are shared by the entities requested together, so this is a few statements.
    let mut by_ticket: HashMap<&str, Vec<&str>> = HashMap::new();
    for claim in claims {
        by_ticket
            .entry(claim.ticket.as_str())
            .or_default()
            .push(claim.entity_ref.as_str());
    }
    for (ticket, refs) in by_ticket {
        for chunk in refs.chunks(500) {
            with_conn!(conn, c => diesel::delete(sq::table
                .filter(sq::ticket.eq(ticket))
                .filter(sq::entity_ref.eq_any(chunk)))
                .execute(*c))?;
        }
    }
    let refs: Vec<&str> = claims.iter().map(|c| c.entity_ref.as_str()).collect();
    for chunk in refs.chunks(500) {
        with_conn!(conn, c => diesel::update(sq::table.filter(sq::entity_ref.eq_any(chunk)))
            .set(sq::claimed_until.eq(None::<i64>))
            .execute(*c))?;
    }
    Ok(())
}

/// The inputs of stitching one entity.
pub struct StitchInput {
    pub entity_ref: String,
    pub entity_id: String,
    pub processed: Option<String>,
    pub errors: String,
    pub relations: Vec<crate::stitch::RelationEdge>,
    pub is_orphan: bool,
}

/// What stitching needs of each of `refs` that still exists, read a chunk of entities per
/// statement.
pub fn load_stitch_inputs(
    conn: &mut DbConn<'_>,
    refs: &[String],
) -> CatalogResult<Vec<StitchInput>> {
    let mut out = Vec::with_capacity(refs.len());
    for chunk in refs.chunks(500) {
        let rows: Vec<(String, String, Option<String>, String)> = with_conn!(conn, c => rs::table
            .filter(rs::entity_ref.eq_any(chunk))
            .select((rs::entity_ref, rs::entity_id, rs::processed_entity, rs::errors))
            .load(*c))?;
        let relations: Vec<(String, String, String)> = with_conn!(conn, c => rel::table
            .filter(rel::source_entity_ref.eq_any(chunk))
            .select((rel::source_entity_ref, rel::relation_type, rel::target_entity_ref))
            .load(*c))?;
        let parents: Vec<String> = with_conn!(conn, c => rr::table
            .filter(rr::target_entity_ref.eq_any(chunk))
            .select(rr::target_entity_ref)
            .distinct()
            .load(*c))?;
        let parents: HashSet<String> = parents.into_iter().collect();
        let mut edges: HashMap<String, Vec<crate::stitch::RelationEdge>> = HashMap::new();
        for (source, relation_type, target_ref) in relations {
            edges
                .entry(source)
                .or_default()
                .push(crate::stitch::RelationEdge {
                    relation_type,
                    target_ref,
                });
        }
        for (entity_ref, entity_id, processed, errors) in rows {
            out.push(StitchInput {
                relations: edges.remove(&entity_ref).unwrap_or_default(),
                is_orphan: !parents.contains(&entity_ref),
                entity_ref,
                entity_id,
                processed,
                errors,
            });
        }
    }
    Ok(out)
}

/// Schedules one entity for processing now. Returns false when it is unknown.
pub fn schedule_refresh(conn: &mut DbConn<'_>, entity_ref: &str, now: i64) -> CatalogResult<bool> {
    let n = with_conn!(conn, c => diesel::update(rs::table.filter(rs::entity_ref.eq(entity_ref)))
        .set(rs::next_update_at.eq(now))
        .execute(*c))?;
    Ok(n > 0)
}

/// The refs that emitted an entity (its parents), and the provider keys.
pub fn parents_of(
    conn: &mut DbConn<'_>,
    entity_ref: &str,
) -> CatalogResult<(Vec<String>, Vec<String>)> {
    let rows: Vec<(Option<String>, Option<String>)> = with_conn!(conn, c => rr::table
        .filter(rr::target_entity_ref.eq(entity_ref))
        .select((rr::source_entity_ref, rr::source_key))
        .load(*c))?;
    let mut parents = Vec::new();
    let mut keys = Vec::new();
    for (p, k) in rows {
        if let Some(p) = p {
            parents.push(p);
        }
        if let Some(k) = k {
            keys.push(k);
        }
    }
    Ok((parents, keys))
}

/// An entity whose processing left errors: its ref, unprocessed and processed forms (JSON
/// text; no processed form when it never processed) and its errors (JSON text).
pub type ErroredEntityRow = (String, String, Option<String>, String);

/// Every entity whose processing left errors.
pub fn entities_with_errors(conn: &mut DbConn<'_>) -> CatalogResult<Vec<ErroredEntityRow>> {
    Ok(with_conn!(conn, c => rs::table
        .filter(rs::errors.ne("[]"))
        .select((rs::entity_ref, rs::unprocessed_entity, rs::processed_entity, rs::errors))
        .order(rs::entity_ref.asc())
        .load(*c))?)
}

/// Counts for readiness and tests: (known entities, due now, awaiting stitch).
pub fn processing_backlog(conn: &mut DbConn<'_>, now: i64) -> CatalogResult<(i64, i64, i64)> {
    let total = with_conn!(conn, c => rs::table.count().get_result::<i64>(*c))?;
    let due = with_conn!(conn, c => rs::table.filter(rs::next_update_at.le(now)).count().get_result::<i64>(*c))?;
    let stitching = with_conn!(conn, c => sq::table.count().get_result::<i64>(*c))?;
    Ok((total, due, stitching))
}

/// Makes these entities write their processing output again next time, even if unchanged.
pub fn forget_result_hashes(conn: &mut DbConn<'_>, refs: &[String]) -> CatalogResult<()> {
    for chunk in refs.chunks(500) {
        with_conn!(conn, c => diesel::update(rs::table.filter(rs::entity_ref.eq_any(chunk)))
            .set(rs::result_hash.eq(None::<String>))
            .execute(*c))?;
    }
    Ok(())
}

/// `(entity ref, location key)` of every entity read from a file whose location key,
/// lowercased, is `LIKE` `pattern` (`\` escapes `%` and `_`). For webhooks: the entities a
/// changed file emitted; callers check the keys exactly.
pub fn entities_with_location_key_like(
    conn: &mut DbConn<'_>,
    pattern: &str,
) -> CatalogResult<Vec<(String, String)>> {
    use diesel::dsl::sql;
    use diesel::sql_types::Bool;
    let condition = sql::<Bool>("lower(location_key) LIKE ")
        .bind::<Text, _>(pattern.to_string())
        .sql(" ESCAPE '\\'");
    let rows: Vec<(String, Option<String>)> = with_conn!(conn, c => rs::table
        .filter(condition)
        .select((rs::entity_ref, rs::location_key))
        .load(*c))?;
    Ok(rows
        .into_iter()
        .filter_map(|(entity_ref, key)| Some((entity_ref, key?)))
        .collect())
}

/// The refs a provider (`source_key`) emits.
pub fn entities_emitted_by_provider(
    conn: &mut DbConn<'_>,
    source_key: &str,
) -> CatalogResult<Vec<String>> {
    Ok(with_conn!(conn, c => rr::table
        .filter(rr::source_key.eq(source_key))
        .select(rr::target_entity_ref)
        .load(*c))?)
}

/// Schedules entities for processing now; returns how many exist.
pub fn schedule_refresh_many(
    conn: &mut DbConn<'_>,
    refs: &[String],
    now: i64,
) -> CatalogResult<usize> {
    let mut scheduled = 0;
    for chunk in refs.chunks(500) {
        scheduled += with_conn!(conn, c => diesel::update(rs::table.filter(rs::entity_ref.eq_any(chunk)))
            .set(rs::next_update_at.eq(now))
            .execute(*c))?;
    }
    Ok(scheduled)
}

/// Vacuums and analyzes, on PostgreSQL, the tables listings read (outside a transaction).
pub fn vacuum_analyze_tables(conn: &mut DbConn<'_>) -> CatalogResult<()> {
    if let DbConn::Postgres(c) = conn {
        diesel::sql_query("VACUUM (ANALYZE) search, final_entities, facet_counts, relations")
            .execute(*c)?;
    }
    Ok(())
}

#[cfg(test)]
mod stitch_queue_tests {
    //! The stitch queue on both backends: due times, debouncing and its bound, release,
    //! exclusive claims, and requests renewed while a stitch is under way.
    use super::*;
    use crate::error::CatalogError;
    use portico_test_support::TestDb;

    const DEBOUNCED: StitchDue = StitchDue::Debounced {
        delay_ms: 10_000,
        longest_ms: 25_000,
    };

    fn refs(names: &[&str]) -> Vec<String> {
        names.iter().map(|n| format!("api:default/{n}")).collect()
    }

    fn claimed(conn: &mut DbConn<'_>, now: i64) -> Vec<String> {
        let mut refs: Vec<String> = claim_stitches(conn, now, 100)
            .expect("claim")
            .into_iter()
            .map(|c| c.entity_ref)
            .collect();
        refs.sort();
        refs
    }

    fn check_queue(test_db: &TestDb) {
        test_db
            .db
            .write_blocking(|conn| {
                let emitted: Vec<EmittedEntity> = refs(&["a", "b", "c", "d"])
                    .into_iter()
                    .map(|r| {
                        EmittedEntity::new(
                            r.clone(),
                            &serde_json::json!({ "ref": r }),
                            "file:x".into(),
                        )
                    })
                    .collect();
                upsert_emitted_entities(conn, ReferenceSource::Provider("test"), &emitted, 0)?;

                // Unknown refs are not queued; a stitch due now is claimed once.
                request_stitch(conn, &refs(&["a", "missing"]), 0, StitchDue::Now)?;
                assert_eq!(claimed(conn, 0), refs(&["a"]));
                assert!(
                    claimed(conn, 0).is_empty(),
                    "a held stitch is not claimed twice"
                );

                // Requested again while held: completing leaves it pending and free.
                let held = vec![StitchClaim {
                    entity_ref: refs(&["a"])[0].clone(),
                    ticket: String::new(),
                }];
                request_stitch(conn, &refs(&["a"]), 10, StitchDue::Now)?;
                complete_stitches(conn, &held)?;
                let again = claim_stitches(conn, 10, 100)?;
                assert_eq!(again.len(), 1);
                complete_stitches(conn, &again)?;
                assert!(
                    claimed(conn, 10).is_empty(),
                    "completed stitches leave the queue"
                );

                // Debounced: due a delay after the latest request, bounded after the first.
                request_stitch(conn, &refs(&["b"]), 1_000, DEBOUNCED)?;
                assert!(claimed(conn, 10_999).is_empty());
                request_stitch(conn, &refs(&["b"]), 10_000, DEBOUNCED)?;
                assert!(
                    claimed(conn, 19_999).is_empty(),
                    "a later request pushes it back"
                );
                request_stitch(conn, &refs(&["b"]), 19_500, DEBOUNCED)?;
                assert!(claimed(conn, 25_999).is_empty());
                assert_eq!(
                    claimed(conn, 26_000),
                    refs(&["b"]),
                    "never past the longest delay"
                );
                assert!(claimed(conn, 85_999).is_empty(), "held until the timeout");
                assert_eq!(
                    claimed(conn, 86_000),
                    refs(&["b"]),
                    "retried after the timeout"
                );

                // A request due now overrides a debounced one; release makes the rest due.
                request_stitch(conn, &refs(&["c"]), 90_000, DEBOUNCED)?;
                request_stitch(conn, &refs(&["a"]), 90_000, DEBOUNCED)?;
                request_stitch(conn, &refs(&["a"]), 90_001, StitchDue::Now)?;
                assert_eq!(claimed(conn, 90_001), refs(&["a"]));
                assert_eq!(release_deferred_stitches(conn, 90_002)?, 1);
                assert_eq!(claimed(conn, 90_002), refs(&["c"]));

                // A pending request moved by less than a second is left as it is.
                request_stitch(conn, &refs(&["d"]), 91_000, DEBOUNCED)?;
                request_stitch(conn, &refs(&["d"]), 91_500, DEBOUNCED)?;
                assert_eq!(claimed(conn, 101_000), refs(&["d"]));
                let (_, _, pending) = processing_backlog(conn, 101_000)?;
                assert_eq!(pending, 4, "a, b, c and d are held, not completed");
                Ok::<_, CatalogError>(())
            })
            .expect("stitch queue");
    }

    portico_test_support::test_on_both_backends!(stitch_queue, check_queue);
}
