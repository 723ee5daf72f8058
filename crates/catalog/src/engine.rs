//! The processing engine: providers write unprocessed entities, a loop claims due entities in
//! batches, processes them, writes each result in one transaction, and stitches the entities
//! whose inputs changed. Several processes may run the loop against one PostgreSQL database;
//! claims make sure each unit of work is done by one of them at a time.

use crate::error::{CatalogError, CatalogResult};
use crate::processing::{ChildSink, EmittedEntity, ProcessingOutput, Processor, StatusItem};
use crate::stitch::stitch_entity;
use crate::store::{self, ReferenceSource, StitchDue, UpsertOutcome};
use futures_util::StreamExt;
use portico_model::EntityRef;
use portico_store::{now_millis, Db, DbConn};
use rand::Rng;
use serde_json::Value;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;

/// What happens to entities that nothing emits any more.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum OrphanStrategy {
    #[default]
    Keep,
    Delete,
}

#[derive(Debug, Clone)]
pub struct EngineSettings {
    /// Each entity is reprocessed after a random interval in this range (seconds).
    pub processing_interval: (u64, u64),
    pub orphan_strategy: OrphanStrategy,
    pub batch_size: i64,
    /// Entities processed at once within a batch (reads are I/O).
    pub concurrency: usize,
}

impl Default for EngineSettings {
    fn default() -> Self {
        Self {
            processing_interval: (100, 150),
            orphan_strategy: OrphanStrategy::Keep,
            batch_size: 1000,
            concurrency: 16,
        }
    }
}

/// How long one tick processes before it stitches what changed. While a large ingest keeps
/// every tick busy, each tick's window doubles, up to the longest: an entity that many
/// others point at (a group, an API) is then restitched a few times in all rather than once
/// every ten seconds, and the first entities still show within the shortest window.
const PROCESS_BEFORE_STITCH: Duration = Duration::from_secs(10);
const PROCESS_BEFORE_STITCH_LONGEST: Duration = Duration::from_secs(60);

/// While processing is busy (each batch claims a full batch of due entities), the stitch of
/// an entity whose relations other entities changed waits until processing settles, or
/// this long after the latest such change, and at most the longest after the first (see
/// [`StitchDue::Debounced`]). A bulk ingest then stitches each API, resource, system and
/// group once with all its consumers, where every processing window restitched them.
const STITCH_DEBOUNCE: Duration = PROCESS_BEFORE_STITCH_LONGEST;
const STITCH_DEBOUNCE_LONGEST: Duration = Duration::from_secs(120);

/// The provider keys of the two built-in providers.
pub const CONFIG_PROVIDER: &str = "ConfigLocationProvider";
pub const DATABASE_PROVIDER: &str = "DefaultLocationStore";

#[derive(Clone)]
pub struct Engine {
    db: Db,
    processor: Processor,
    settings: Arc<EngineSettings>,
    wake: Arc<Notify>,
    /// Entities stitched since PostgreSQL's tables were last vacuumed and analyzed.
    stitched_since_analyze: Arc<std::sync::atomic::AtomicUsize>,
    /// This tick's processing window, in milliseconds (see [`PROCESS_BEFORE_STITCH`]).
    process_window_ms: Arc<std::sync::atomic::AtomicU64>,
    /// Whether this engine has debounced stitches since it last released them, so an idle
    /// tick does not write to the queue for nothing.
    deferred_stitches: Arc<std::sync::atomic::AtomicBool>,
}

/// After this many stitched entities, PostgreSQL's listing tables are vacuumed and analyzed:
/// listings are planned from the statistics, and read the search index alone (index-only
/// scans) only where the visibility map says pages are all-visible. Autovacuum lags behind a
/// bulk ingest by minutes.
const ANALYZE_AFTER_STITCHES: usize = 10_000;

/// After this many stitched entities, the tables are vacuumed and analyzed as soon as nothing
/// more is due, rather than waiting for [`ANALYZE_AFTER_STITCHES`].
const ANALYZE_WHEN_SETTLED: usize = 1_000;

/// What one tick did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct TickStats {
    pub processed: usize,
    pub stitched: usize,
}

impl Engine {
    pub fn new(db: Db, processor: Processor, settings: EngineSettings) -> Self {
        Self {
            db,
            processor,
            settings: Arc::new(settings),
            wake: Arc::new(Notify::new()),
            stitched_since_analyze: Arc::default(),
            process_window_ms: Arc::new((PROCESS_BEFORE_STITCH.as_millis() as u64).into()),
            deferred_stitches: Arc::default(),
        }
    }

    pub fn processor(&self) -> &Processor {
        &self.processor
    }

    pub fn settings(&self) -> &EngineSettings {
        &self.settings
    }

    /// Wakes the loop early (new work was scheduled).
    pub fn wake(&self) {
        self.wake.notify_one();
    }

    /// Replaces everything a provider emits: new entities appear, changed ones are updated,
    /// and entities it no longer emits are deleted with the children only they emitted.
    pub async fn apply_full_mutation(
        &self,
        source_key: &str,
        entities: Vec<Value>,
    ) -> CatalogResult<()> {
        let source_key = source_key.to_string();
        let mut emitted = Vec::new();
        for entity in entities {
            let entity_ref = EntityRef::of_entity(&entity)
                .map_err(|e| CatalogError::InvalidInput(e.to_string()))?
                .to_string();
            let location_key = entity
                .pointer("/metadata/annotations")
                .and_then(|a| a.get(portico_model::annotations::MANAGED_BY_LOCATION))
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_string();
            emitted.push(EmittedEntity::new(entity_ref, &entity, location_key));
        }
        self.db
            .write_batch(move |conn| {
                let now = now_millis();
                let source = ReferenceSource::Provider(&source_key);
                let mut refs = Vec::new();
                let outcomes = store::upsert_emitted_entities(conn, source, &emitted, now)?;
                for (e, outcome) in emitted.iter().zip(outcomes) {
                    match outcome {
                        UpsertOutcome::Conflict { existing_location_key } => {
                            tracing::warn!(entity.r#ref = %e.entity_ref, %existing_location_key, "provider entity conflicts with an existing one");
                        }
                        _ => refs.push(e.entity_ref.clone()),
                    }
                }
                let removed = store::replace_references(conn, source, &refs, &[])?;
                let gone = store::unreferenced(conn, &removed)?;
                let restitch = store::delete_entities_and_orphaned_children(conn, gone)?;
                store::request_stitch(conn, &restitch, now, StitchDue::Now)?;
                Ok::<_, CatalogError>(())
            })
            .await?;
        self.wake();
        Ok(())
    }

    /// Runs ticks until cancelled, sleeping briefly whenever there is nothing to do.
    pub async fn run(self, cancel: CancellationToken) {
        if self.stitches_alongside() {
            tokio::spawn(self.clone().stitch_until(cancel.clone()));
        }
        let mut idle = Duration::from_millis(50);
        loop {
            if cancel.is_cancelled() {
                return;
            }
            let stats = match self.tick().await {
                Ok(s) => s,
                Err(e) => {
                    tracing::error!("processing tick failed: {e}");
                    TickStats::default()
                }
            };
            if stats.processed + stats.stitched > 0 {
                idle = Duration::from_millis(50);
                continue;
            }
            tokio::select! {
                _ = cancel.cancelled() => return,
                _ = self.wake.notified() => {}
                _ = tokio::time::sleep(idle) => {}
            }
            idle = (idle * 2).min(Duration::from_secs(1));
        }
    }

    /// Processes due entities for up to one window (see [`PROCESS_BEFORE_STITCH`]), then
    /// stitches everything whose inputs changed.
    pub async fn tick(&self) -> CatalogResult<TickStats> {
        use std::sync::atomic::Ordering;
        let started = std::time::Instant::now();
        let window = Duration::from_millis(self.process_window_ms.load(Ordering::Relaxed));
        let mut processed = 0;
        let busy = loop {
            let n = self.process_batch().await?;
            processed += n;
            if n < self.settings.batch_size as usize {
                break false;
            }
            if started.elapsed() > window {
                break true;
            }
        };
        let next_window = if busy {
            (window * 2).min(PROCESS_BEFORE_STITCH_LONGEST)
        } else {
            PROCESS_BEFORE_STITCH
        };
        self.process_window_ms
            .store(next_window.as_millis() as u64, Ordering::Relaxed);
        let processing_time = started.elapsed();
        if !busy && self.deferred_stitches.swap(false, Ordering::Relaxed) {
            self.db
                .write_batch(|conn| store::release_deferred_stitches(conn, now_millis()))
                .await?;
        }
        let mut stitched = 0;
        loop {
            let n = self.stitch_batch().await?;
            stitched += n;
            if n < self.settings.batch_size as usize {
                break;
            }
        }
        let settled = processed < self.settings.batch_size as usize;
        self.refresh_statistics(settled).await?;
        if processed + stitched > 0 {
            tracing::debug!(
                processed,
                stitched,
                processing_ms = processing_time.as_millis() as u64,
                stitching_ms = (started.elapsed() - processing_time).as_millis() as u64,
                "processing tick"
            );
        }
        Ok(TickStats {
            processed,
            stitched,
        })
    }

    /// Vacuums and analyzes PostgreSQL's listing tables after many stitches, or after a
    /// good few once nothing more is due (the end of an ingest): besides statistics and the
    /// visibility map, vacuum moves the trigram index's pending entries into the index, and
    /// searches read the pending list whole until it does.
    async fn refresh_statistics(&self, settled: bool) -> CatalogResult<()> {
        use std::sync::atomic::Ordering;
        if self.db.backend() != portico_store::Backend::Postgres {
            return Ok(());
        }
        let total = self.stitched_since_analyze.load(Ordering::Relaxed);
        let due = total >= ANALYZE_AFTER_STITCHES || (settled && total >= ANALYZE_WHEN_SETTLED);
        if !due {
            return Ok(());
        }
        // Less what was counted, not zero: the stitcher may have added meanwhile.
        self.stitched_since_analyze
            .fetch_sub(total, Ordering::Relaxed);
        let started = std::time::Instant::now();
        // Outside a transaction: VACUUM may not run inside one.
        self.db.read(store::vacuum_analyze_tables).await?;
        tracing::debug!(
            stitched = total,
            vacuum_ms = started.elapsed().as_millis() as u64,
            "vacuumed and analyzed the listing tables"
        );
        Ok(())
    }

    /// Ticks until nothing is due and nothing awaits stitching (tests, benchmark, dry runs).
    pub async fn run_until_idle(&self) -> CatalogResult<()> {
        if self.stitches_alongside() {
            let done = CancellationToken::new();
            let stitcher = tokio::spawn(self.clone().stitch_until(done.clone()));
            let ticked = self.tick_until_idle().await;
            done.cancel();
            // The stitcher finishes the batch it holds; anything left is stitched below.
            let _ = stitcher.await;
            ticked?;
        }
        self.tick_until_idle().await
    }

    async fn tick_until_idle(&self) -> CatalogResult<()> {
        loop {
            let stats = self.tick().await?;
            if stats.processed == 0 && stats.stitched == 0 {
                return Ok(());
            }
        }
    }

    /// Whether a second worker stitches while the loop processes: on PostgreSQL, where the
    /// two run on two connections (and server processes) at once. SQLite has one writer.
    fn stitches_alongside(&self) -> bool {
        self.db.backend() == portico_store::Backend::Postgres
    }

    /// Stitches whatever is due, batch after batch, until cancelled; the loop's own
    /// stitching after each processing window shares the work through claims.
    async fn stitch_until(self, cancel: CancellationToken) {
        let mut idle = Duration::from_millis(50);
        while !cancel.is_cancelled() {
            match self.stitch_batch().await {
                Ok(n) if n > 0 => {
                    idle = Duration::from_millis(50);
                    continue;
                }
                Ok(_) => {}
                Err(e) => tracing::error!("stitching failed: {e}"),
            }
            tokio::select! {
                _ = cancel.cancelled() => return,
                _ = tokio::time::sleep(idle) => {}
            }
            idle = (idle * 2).min(Duration::from_secs(1));
        }
    }

    fn next_interval_ms(&self) -> i64 {
        let (lo, hi) = self.settings.processing_interval;
        let secs = if hi > lo {
            rand::thread_rng().gen_range(lo..=hi)
        } else {
            lo
        };
        (secs as i64) * 1000
    }

    async fn process_batch(&self) -> CatalogResult<usize> {
        let limit = self.settings.batch_size;
        let interval = self.next_interval_ms();
        let claimed = self
            .db
            .write_batch(move |conn| store::claim_due_entities(conn, now_millis(), limit, interval))
            .await?;
        if claimed.is_empty() {
            return Ok(0);
        }
        let count = claimed.len();
        // A full batch: more is due, so other entities' relation changes are debounced.
        let others_due = if count as i64 >= limit {
            self.deferred_stitches
                .store(true, std::sync::atomic::Ordering::Relaxed);
            StitchDue::Debounced {
                delay_ms: STITCH_DEBOUNCE.as_millis() as i64,
                longest_ms: STITCH_DEBOUNCE_LONGEST.as_millis() as i64,
            }
        } else {
            StitchDue::Now
        };
        let started = std::time::Instant::now();
        let processor = self.processor.clone();
        let results: Vec<(store::ClaimedEntity, ProcessingOutput, String)> =
            futures_util::stream::iter(claimed)
                .map(|claim| {
                    let processor = processor.clone();
                    let sink = claim
                        .entity_ref
                        .starts_with("location:")
                        .then(|| child_sink(self.db.clone(), claim.entity_ref.clone()));
                    async move {
                        let unprocessed: Value =
                            serde_json::from_str(&claim.unprocessed_entity).unwrap_or(Value::Null);
                        let output = processor
                            .process_with_sink(&unprocessed, sink.as_ref())
                            .await;
                        let hash = result_hash(&output);
                        (claim, output, hash)
                    }
                })
                .buffer_unordered(self.settings.concurrency.max(1))
                .collect()
                .await;
        let strategy = self.settings.orphan_strategy;
        let processed_at = started.elapsed();
        self.db
            .write_batch(move |conn| {
                let now = now_millis();
                // Results that only update the entity itself and its relations are written
                // together; those that emit children (Locations) one by one, as they upsert
                // and orphan other entities.
                let (simple, full): (Vec<_>, Vec<_>) = results
                    .into_iter()
                    .filter(|(claim, _, hash)| claim.result_hash.as_deref() != Some(hash.as_str()))
                    .partition(|(claim, output, _)| is_simple_result(claim, output));
                let simple = match conn.transaction(|conn| write_simple_results(conn, &simple, now, others_due)) {
                    Ok(()) => Vec::new(),
                    Err(e) => {
                        tracing::warn!("writing {} processing results together failed, writing them one by one: {e}", simple.len());
                        simple
                    }
                };
                for (claim, output, hash) in full.into_iter().chain(simple) {
                    let entity_ref = claim.entity_ref.clone();
                    // A savepoint per entity: one failure does not undo the batch.
                    let outcome = conn.transaction(|conn| write_result(conn, &claim, output, &hash, strategy, now, others_due));
                    if let Err(e) = outcome {
                        tracing::error!(entity.r#ref = %entity_ref, "writing the processing result failed: {e}");
                    }
                }
                Ok::<_, CatalogError>(())
            })
            .await?;
        tracing::debug!(
            count,
            process_ms = processed_at.as_millis() as u64,
            write_ms = (started.elapsed() - processed_at).as_millis() as u64,
            "processing batch"
        );
        Ok(count)
    }

    async fn stitch_batch(&self) -> CatalogResult<usize> {
        let limit = self.settings.batch_size;
        let claims = self
            .db
            .write_batch(move |conn| store::claim_stitches(conn, now_millis(), limit))
            .await?;
        if claims.is_empty() {
            return Ok(0);
        }
        let count = claims.len();
        self.db
            .write_batch(move |conn| {
                let refs: Vec<String> = claims.iter().map(|c| c.entity_ref.clone()).collect();
                let inputs = store::load_stitch_inputs(conn, &refs)?;
                let ids: Vec<&str> = inputs.iter().map(|i| i.entity_id.as_str()).collect();
                let stored = store::final_entity_hashes(conn, &ids)?;
                let writes = inputs
                    .into_iter()
                    .filter_map(|input| final_entity_of(input, &stored))
                    .collect();
                store::write_final_entities(conn, writes, now_millis())?;
                store::complete_stitches(conn, &claims)
            })
            .await?;
        self.stitched_since_analyze
            .fetch_add(count, std::sync::atomic::Ordering::Relaxed);
        Ok(count)
    }
}

/// The sink a Location's processing writes its children through (see [`ChildSink`]): each
/// chunk is upserted and recorded as the location's in one transaction, so no child is ever
/// stored without its parent (and stitched as an orphan meanwhile).
fn child_sink(db: Db, parent: String) -> ChildSink {
    Arc::new(move |children: Vec<EmittedEntity>| {
        let db = db.clone();
        let parent = parent.clone();
        Box::pin(async move {
            let written = db.write_batch(move |conn| {
                let source = ReferenceSource::Entity(&parent);
                let outcomes =
                    store::upsert_emitted_entities(conn, source, &children, now_millis())?;
                let mut accepted = Vec::with_capacity(children.len());
                let mut verdicts = Vec::with_capacity(children.len());
                for (child, outcome) in children.iter().zip(outcomes) {
                    match outcome {
                        UpsertOutcome::Conflict {
                            existing_location_key,
                        } => verdicts.push(Some(conflict_error(child, &existing_location_key))),
                        _ => {
                            accepted.push(child.entity_ref.clone());
                            verdicts.push(None);
                        }
                    }
                }
                store::add_references(conn, source, &accepted)?;
                Ok::<_, CatalogError>(verdicts)
            });
            written.await.map_err(|e| e.to_string())
        })
    })
}

/// The error a location gets for a child another location already provides.
fn conflict_error(child: &EmittedEntity, existing_location_key: &str) -> StatusItem {
    StatusItem::error(
        "ConflictError",
        format!(
            "{} from {} conflicts with the same entity already provided by {existing_location_key}",
            child.entity_ref, child.location_key
        ),
    )
}

/// The final entity of one stitch input; none when it is stored already (`stored` hashes by
/// entity id), or the entity has not been processed yet (or its stored form is unreadable,
/// or it cannot be indexed, which are logged).
fn final_entity_of(
    input: store::StitchInput,
    stored: &std::collections::HashMap<String, String>,
) -> Option<store::FinalEntityWrite> {
    let processed: Value = match serde_json::from_str(input.processed.as_deref()?) {
        Ok(v) => v,
        Err(e) => {
            tracing::error!(entity.r#ref = %input.entity_ref, "stored processed entity is unreadable: {e}");
            return None;
        }
    };
    let errors: Vec<StatusItem> = serde_json::from_str(&input.errors).unwrap_or_default();
    let (final_entity, hash) = stitch_entity(
        &processed,
        &input.entity_id,
        input.relations,
        &errors,
        input.is_orphan,
    );
    let stored_hash = stored.get(&input.entity_id);
    if stored_hash == Some(&hash) {
        return None;
    }
    let entity_ref = input.entity_ref.clone();
    let replaces = stored_hash.is_some();
    store::FinalEntityWrite::new(
        input.entity_id,
        input.entity_ref,
        &final_entity,
        hash,
        replaces,
    )
    .map_err(
        |e| tracing::error!(entity.r#ref = %entity_ref, "cannot index the stitched entity: {e}"),
    )
    .ok()
}

/// A hash of everything a processing result writes, to skip writing an unchanged one. Fed
/// piece by piece: a location's result may list a whole catalog of children, and building
/// one JSON value of it first cost more memory than the children themselves.
fn result_hash(output: &ProcessingOutput) -> String {
    use sha2::Digest;
    let mut hasher = sha2::Sha256::new();
    let mut field = |bytes: &[u8]| {
        hasher.update((bytes.len() as u64).to_le_bytes());
        hasher.update(bytes);
    };
    match &output.processed {
        Some(p) => field(p.to_string().as_bytes()),
        None => field(b"-"),
    }
    for r in &output.relations {
        field(format!("{} {} {}", r.source, r.relation_type, r.target).as_bytes());
    }
    // Every child emitted, whether written through the sink already or not.
    field(output.children_digest.hex().as_bytes());
    field(b"unread");
    for key in &output.unread_location_keys {
        field(key.as_bytes());
    }
    field(
        serde_json::to_string(&output.errors)
            .unwrap_or_default()
            .as_bytes(),
    );
    hex::encode(&hasher.finalize()[..20])
}

/// A result that touches no other entity's processing state: a processed entity that emits
/// no children and is not a Location (whose emitted set may shrink).
fn is_simple_result(claim: &store::ClaimedEntity, output: &ProcessingOutput) -> bool {
    output.processed.is_some()
        && output.children.is_empty()
        && !claim.entity_ref.starts_with("location:")
}

/// Writes simple results (see [`is_simple_result`]) a chunk of entities per statement where
/// the statement allows it: what [`write_result`] does for each, without a savepoint each.
fn write_simple_results(
    conn: &mut DbConn<'_>,
    results: &[(store::ClaimedEntity, ProcessingOutput, String)],
    now: i64,
    others_due: StitchDue,
) -> CatalogResult<()> {
    let mut rows = Vec::with_capacity(results.len());
    for (claim, output, hash) in results {
        let Some(processed) = &output.processed else {
            continue;
        };
        rows.push(store::ProcessedResult {
            entity_id: &claim.entity_id,
            processed: serde_json::to_string(processed)?,
            result_hash: hash,
            errors: serde_json::to_string(&output.errors)?,
        });
    }
    let written = store::write_processed_results(conn, &rows)?;
    drop(rows);
    let mut to_stitch = Vec::with_capacity(results.len());
    let mut relations = Vec::with_capacity(results.len());
    // An entity deleted since it was claimed keeps no result and no relations.
    for (claim, output, _) in results {
        if written.contains(&claim.entity_id) {
            to_stitch.push(claim.entity_ref.clone());
            relations.push((claim.entity_id.as_str(), output.relations.as_slice()));
        }
    }
    let first_results: std::collections::HashSet<&str> = results
        .iter()
        .filter(|(claim, _, _)| !claim.processed_before)
        .map(|(claim, _, _)| claim.entity_id.as_str())
        .collect();
    let affected = store::replace_relations_many(conn, &relations, &first_results)?;
    store::request_stitches(conn, to_stitch, affected, now, others_due)
}

fn write_result(
    conn: &mut DbConn<'_>,
    claim: &store::ClaimedEntity,
    output: ProcessingOutput,
    hash: &str,
    strategy: OrphanStrategy,
    now: i64,
    others_due: StitchDue,
) -> CatalogResult<()> {
    let mut errors = output.errors;
    let mut to_stitch = vec![claim.entity_ref.clone()];
    let mut relations_changed = Vec::new();
    if output.processed.is_some() {
        let source = ReferenceSource::Entity(&claim.entity_ref);
        // Children written through the sink already, then those still held.
        let mut child_refs = output.written_children;
        let outcomes = store::upsert_emitted_entities(conn, source, &output.children, now)?;
        for (child, outcome) in output.children.iter().zip(outcomes) {
            match outcome {
                UpsertOutcome::Conflict {
                    existing_location_key,
                } => errors.push(conflict_error(child, &existing_location_key)),
                _ => child_refs.push(child.entity_ref.clone()),
            }
        }
        let is_location = claim.entity_ref.starts_with("location:");
        if is_location {
            let removed =
                store::replace_references(conn, source, &child_refs, &output.unread_location_keys)?;
            let orphans = store::unreferenced(conn, &removed)?;
            match strategy {
                OrphanStrategy::Delete => {
                    let restitch = store::delete_entities_and_orphaned_children(conn, orphans)?;
                    to_stitch.extend(restitch);
                }
                OrphanStrategy::Keep => to_stitch.extend(orphans),
            }
        }
        relations_changed = store::replace_relations(conn, &claim.entity_id, &output.relations)?;
    }
    if !store::write_processing_result(
        conn,
        &claim.entity_id,
        output.processed.as_ref(),
        hash,
        &errors,
    )? {
        return Ok(());
    }
    store::request_stitches(conn, to_stitch, relations_changed, now, others_due)
}
