//! The catalog's use cases, called by the HTTP layer, the CLI and the benchmark.

use crate::engine::{Engine, CONFIG_PROVIDER, DATABASE_PROVIDER};
use crate::error::{CatalogError, CatalogResult};
use crate::processing::{root_location_entity, StatusItem};
use crate::read::{normalize_type, ReadError};
use crate::store::{self, Boundary, FinalRow, LocationRow, SortSpec};
use portico_model::{annotations, EntityRef, RefDefaults};
use portico_query::EntityFilter;
use portico_store::{now_millis, Db};
use serde_json::{json, Value};

/// A location as configured (`catalog.locations`), with its target already absolute.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfiguredLocation {
    pub location_type: String,
    pub target: String,
}

#[derive(Clone)]
pub struct Catalog {
    db: Db,
    engine: Engine,
    config_locations: Vec<ConfiguredLocation>,
    /// Location types `POST /locations` accepts (Backstage: `url` only).
    registration_types: Vec<String>,
}

/// One page of final entities (JSON texts, in order) and what is needed to continue.
pub struct EntityPage {
    pub items: Vec<String>,
    pub first: Option<Boundary>,
    pub last: Option<Boundary>,
    pub has_more: bool,
}

pub struct Ancestry {
    pub root_entity_ref: String,
    pub items: Vec<(Value, Vec<String>)>,
}

pub struct DryRunResult {
    pub exists: bool,
    pub entities: Vec<Value>,
}

impl Catalog {
    pub fn new(
        db: Db,
        engine: Engine,
        config_locations: Vec<ConfiguredLocation>,
        registration_types: Vec<String>,
    ) -> Self {
        Self {
            db,
            engine,
            config_locations,
            registration_types,
        }
    }

    pub fn db(&self) -> &Db {
        &self.db
    }

    pub fn engine(&self) -> &Engine {
        &self.engine
    }

    /// Emits the configured and registered locations (at start, and after each change).
    pub async fn refresh_providers(&self) -> CatalogResult<()> {
        let config_entities = self
            .config_locations
            .iter()
            .map(|l| root_location_entity(&l.location_type, &l.target))
            .collect();
        self.engine
            .apply_full_mutation(CONFIG_PROVIDER, config_entities)
            .await?;
        self.refresh_database_provider().await
    }

    async fn refresh_database_provider(&self) -> CatalogResult<()> {
        let rows = self.db.read(store::list_locations).await?;
        let entities = rows
            .iter()
            .map(|l| root_location_entity(&l.location_type, &l.target))
            .collect();
        self.engine
            .apply_full_mutation(DATABASE_PROVIDER, entities)
            .await
    }

    pub async fn entity_by_ref(&self, entity_ref: &EntityRef) -> CatalogResult<Option<String>> {
        let key = entity_ref.to_string();
        self.db
            .read(move |conn| store::final_entity_by_ref(conn, &key))
            .await
    }

    pub async fn entity_by_uid(&self, uid: &str) -> CatalogResult<Option<String>> {
        let uid = uid.to_string();
        Ok(self
            .db
            .read(move |conn| store::final_entity_by_uid(conn, &uid))
            .await?
            .map(|(_, e)| e))
    }

    /// Deletes an entity. Its parents are made to write their output again on their next
    /// processing, so an entity that is still emitted comes back. With `only_matching`, the
    /// entity must match that filter (checked in the same transaction), else NotAllowed.
    pub async fn delete_entity_by_uid(
        &self,
        uid: &str,
        only_matching: Option<EntityFilter>,
    ) -> CatalogResult<String> {
        let uid = uid.to_string();
        let entity_ref = self
            .db
            .write(move |conn| {
                let Some((entity_ref, _)) = store::final_entity_by_uid(conn, &uid)? else {
                    return Err(CatalogError::NotFound(format!("No entity with uid {uid}")));
                };
                if let Some(filter) = &only_matching {
                    if !store::entity_matches(conn, &uid, filter)? {
                        return Err(CatalogError::NotAllowed(format!(
                            "You may not delete {entity_ref}"
                        )));
                    }
                }
                let (parents, _) = store::parents_of(conn, &entity_ref)?;
                store::forget_result_hashes(conn, &parents)?;
                let restitch =
                    store::delete_entities_and_orphaned_children(conn, vec![entity_ref.clone()])?;
                store::request_stitch(conn, &restitch, now_millis(), store::StitchDue::Now)?;
                Ok(entity_ref)
            })
            .await?;
        self.engine.wake();
        Ok(entity_ref)
    }

    /// One page of entities in `sort` order.
    #[expect(clippy::too_many_arguments, reason = "the query's parameters")]
    pub async fn page_entities(
        &self,
        filter: Option<EntityFilter>,
        full_text: Option<(String, Vec<String>)>,
        sort: SortSpec,
        boundary: Option<Boundary>,
        backwards: bool,
        limit: i64,
        offset: i64,
    ) -> CatalogResult<EntityPage> {
        let sort_for_rows = sort.clone();
        let rows: Vec<FinalRow> = self
            .db
            .read(move |conn| {
                let ft = full_text.as_ref().map(|(t, f)| (t.as_str(), f.as_slice()));
                store::page_final_entities(
                    conn,
                    filter.as_ref(),
                    ft,
                    &sort_for_rows,
                    boundary.as_ref(),
                    backwards,
                    limit + 1,
                    offset,
                )
            })
            .await?;
        let mut rows = rows;
        let has_more = rows.len() as i64 > limit;
        if has_more {
            if backwards {
                rows.remove(0);
            } else {
                rows.truncate(limit as usize);
            }
        }
        let boundary_of = |r: &FinalRow| Boundary {
            sort_value: r.sort_value.clone(),
            entity_id: r.entity_id.clone(),
        };
        Ok(EntityPage {
            first: rows.first().map(boundary_of),
            last: rows.last().map(boundary_of),
            items: rows.into_iter().map(|r| r.final_entity).collect(),
            has_more,
        })
    }

    /// How many entities match; with a sort key, only those that have it (as they are listed).
    pub async fn count_entities(
        &self,
        filter: Option<EntityFilter>,
        full_text: Option<(String, Vec<String>)>,
        sort_key: Option<String>,
    ) -> CatalogResult<i64> {
        self.db
            .read(move |conn| {
                let ft = full_text.as_ref().map(|(t, f)| (t.as_str(), f.as_slice()));
                store::count_final_entities(conn, filter.as_ref(), ft, sort_key.as_deref())
            })
            .await
    }

    pub async fn facets(
        &self,
        facets: Vec<String>,
        filter: Option<EntityFilter>,
    ) -> CatalogResult<Vec<(String, Vec<(String, i64)>)>> {
        self.db
            .read(move |conn| {
                let mut out = Vec::new();
                for facet in facets {
                    let values = store::facet_values(conn, &facet.to_lowercase(), filter.as_ref())?;
                    out.push((facet, values));
                }
                Ok(out)
            })
            .await
    }

    /// Final entities for refs, in request order (`None` for unknown ones).
    pub async fn entities_by_refs(&self, refs: Vec<String>) -> CatalogResult<Vec<Option<String>>> {
        let keys = refs.clone();
        let rows = self
            .db
            .read(move |conn| store::final_entities_by_refs(conn, &keys))
            .await?;
        let map: std::collections::HashMap<String, String> =
            rows.into_iter().map(|(r, _, e)| (r, e)).collect();
        Ok(refs.iter().map(|r| map.get(r).cloned()).collect())
    }

    pub async fn ancestry(&self, entity_ref: &EntityRef) -> CatalogResult<Ancestry> {
        let root = entity_ref.to_string();
        let root_for_query = root.clone();
        let items = self
            .db
            .read(move |conn| {
                let mut items = Vec::new();
                let mut seen = std::collections::HashSet::new();
                let mut queue = vec![root_for_query.clone()];
                while let Some(current) = queue.pop() {
                    if !seen.insert(current.clone()) {
                        continue;
                    }
                    let Some(text) = store::final_entity_by_ref(conn, &current)? else {
                        if current == root_for_query {
                            return Err(CatalogError::NotFound(format!(
                                "No such entity {current}"
                            )));
                        }
                        continue;
                    };
                    let (parents, _) = store::parents_of(conn, &current)?;
                    queue.extend(parents.iter().cloned());
                    items.push((serde_json::from_str::<Value>(&text)?, parents));
                }
                Ok(items)
            })
            .await?;
        Ok(Ancestry {
            root_entity_ref: root,
            items,
        })
    }

    /// Schedules an entity and the chain of locations above it for processing now.
    pub async fn refresh(&self, entity_ref: &EntityRef) -> CatalogResult<()> {
        let key = entity_ref.to_string();
        self.db
            .write(move |conn| {
                let now = now_millis();
                if !store::schedule_refresh(conn, &key, now)? {
                    return Err(CatalogError::NotFound(format!("Entity {key} not found")));
                }
                let mut seen = std::collections::HashSet::new();
                let mut queue = vec![key];
                while let Some(r) = queue.pop() {
                    if !seen.insert(r.clone()) {
                        continue;
                    }
                    store::schedule_refresh(conn, &r, now)?;
                    queue.extend(store::parents_of(conn, &r)?.0);
                }
                Ok(())
            })
            .await?;
        self.engine.wake();
        Ok(())
    }

    pub async fn locations(&self) -> CatalogResult<Vec<LocationRow>> {
        self.db.read(store::list_locations).await
    }

    pub async fn location(&self, id: &str) -> CatalogResult<LocationRow> {
        let id = id.to_string();
        self.db
            .read(move |conn| {
                store::find_location(conn, &id)?.ok_or_else(|| {
                    CatalogError::NotFound(format!("Found no location with ID {id}"))
                })
            })
            .await
    }

    fn check_registration(&self, location_type: &str, target: &str) -> CatalogResult<()> {
        if !self.registration_types.iter().any(|t| t == location_type) {
            return Err(CatalogError::InvalidInput(format!(
                "Registered locations must be of an allowed type {:?}",
                self.registration_types
            )));
        }
        if target.trim().is_empty() {
            return Err(CatalogError::InvalidInput(
                "Location target must not be empty".into(),
            ));
        }
        if normalize_type(location_type) == "url" {
            self.engine
                .processor()
                .reader()
                .check_url_allowed(target)
                .map_err(|e| CatalogError::InvalidInput(e.to_string()))?;
        }
        Ok(())
    }

    /// Stores a location; the processing loop reads it shortly after.
    pub async fn add_location(
        &self,
        location_type: &str,
        target: &str,
    ) -> CatalogResult<LocationRow> {
        self.check_registration(location_type, target)?;
        let row = LocationRow {
            id: uuid::Uuid::new_v4().to_string(),
            location_type: location_type.to_string(),
            target: target.to_string(),
            created_at: now_millis(),
        };
        let insert = row.clone();
        self.db
            .write(move |conn| {
                if store::find_location_by_target(conn, &insert.location_type, &insert.target)?
                    .is_some()
                {
                    return Err(CatalogError::Conflict(format!(
                        "Location {}:{} already exists",
                        insert.location_type, insert.target
                    )));
                }
                store::insert_location(conn, &insert)
            })
            .await?;
        self.refresh_database_provider().await?;
        Ok(row)
    }

    pub async fn delete_location(&self, id: &str) -> CatalogResult<()> {
        let id = id.to_string();
        let deleted = self
            .db
            .write(move |conn| store::delete_location(conn, &id))
            .await?;
        if !deleted {
            return Err(CatalogError::NotFound("Location not found".into()));
        }
        self.refresh_database_provider().await
    }

    pub async fn location_by_entity(&self, entity_ref: &EntityRef) -> CatalogResult<LocationRow> {
        let text = self
            .entity_by_ref(entity_ref)
            .await?
            .ok_or_else(|| CatalogError::NotFound(format!("No entity found for {entity_ref}")))?;
        let entity: Value = serde_json::from_str(&text)?;
        let origin = entity
            .pointer("/metadata/annotations")
            .and_then(|a| a.get(annotations::MANAGED_BY_ORIGIN_LOCATION))
            .and_then(Value::as_str)
            .ok_or_else(|| {
                CatalogError::NotFound(format!("Entity {entity_ref} has no origin location"))
            })?
            .to_string();
        let (t, target) = origin
            .split_once(':')
            .ok_or_else(|| CatalogError::NotFound(format!("Invalid origin location {origin}")))?;
        let (t, target) = (t.to_string(), target.to_string());
        self.db
            .read(move |conn| {
                store::find_location_by_target(conn, &t, &target)?.ok_or_else(|| {
                    CatalogError::NotFound(format!("Found no location {t}:{target}"))
                })
            })
            .await
    }

    /// Reads and processes a location now, storing nothing: every entity it yields, nested
    /// Locations followed. Any error fails the whole dry run.
    pub async fn dry_run_location(
        &self,
        location_type: &str,
        target: &str,
    ) -> CatalogResult<DryRunResult> {
        self.check_registration(location_type, target)?;
        let (lt, tg) = (location_type.to_string(), target.to_string());
        let exists = self
            .db
            .read(move |conn| store::find_location_by_target(conn, &lt, &tg))
            .await?
            .is_some();
        let processor = self.engine.processor();
        let mut entities = Vec::new();
        let mut queue = vec![root_location_entity(location_type, target)];
        let mut seen = std::collections::HashSet::new();
        while let Some(entity) = queue.pop() {
            if entities.len() > 10_000 {
                return Err(CatalogError::InvalidInput(
                    "Location yields more than 10000 entities".into(),
                ));
            }
            let output = processor.process(&entity).await;
            if let Some(first) = output.errors.first() {
                let not_found = first.error.name == "NotFoundError";
                let message = output
                    .errors
                    .iter()
                    .map(|e| e.message.clone())
                    .collect::<Vec<_>>()
                    .join("; ");
                return Err(if not_found {
                    CatalogError::NotFound(message)
                } else {
                    CatalogError::InvalidInput(message)
                });
            }
            let Some(processed) = output.processed else {
                continue;
            };
            for child in output.children {
                if seen.insert(child.entity_ref.clone()) {
                    queue.push(child.entity());
                }
            }
            entities.push(processed);
        }
        Ok(DryRunResult { exists, entities })
    }

    /// Runs the processing chain on one entity without storing it. `location` (`type:target`)
    /// is where relative placeholders resolve.
    pub async fn validate_entity(
        &self,
        entity: Value,
        location: &str,
    ) -> CatalogResult<Vec<StatusItem>> {
        let mut entity = entity;
        if !entity.is_object() {
            return Ok(vec![StatusItem::error(
                "InputError",
                "Entity must be an object",
            )]);
        }
        if let Some(metadata) = entity.get_mut("metadata").and_then(Value::as_object_mut) {
            let annotations_value = metadata.entry("annotations").or_insert_with(|| json!({}));
            if let Some(a) = annotations_value.as_object_mut() {
                a.insert(
                    annotations::MANAGED_BY_LOCATION.into(),
                    Value::String(location.to_string()),
                );
                a.insert(
                    annotations::MANAGED_BY_ORIGIN_LOCATION.into(),
                    Value::String(location.to_string()),
                );
            }
        }
        let processor = self.engine.processor();
        let mut output = processor.process(&entity).await;
        // Reading a Location's targets is not part of validating one entity.
        output
            .errors
            .retain(|e| !e.message.starts_with("NotFoundError: Unable to read"));
        Ok(output.errors)
    }

    /// Entities whose processing left errors, with whether they have a final form.
    pub async fn processing_errors(&self) -> CatalogResult<Vec<Value>> {
        let rows = self.db.read(store::entities_with_errors).await?;
        Ok(rows
            .into_iter()
            .map(|(entity_ref, unprocessed, processed, errors)| {
                json!({
                    "entityRef": entity_ref,
                    "hasFinalEntity": processed.is_some(),
                    "locationKey": serde_json::from_str::<Value>(&unprocessed).ok()
                        .and_then(|u| u.pointer("/metadata/annotations").and_then(|a| a.get(annotations::MANAGED_BY_LOCATION)).cloned()),
                    "errors": serde_json::from_str::<Value>(&errors).unwrap_or(Value::Null),
                })
            })
            .collect())
    }

    /// (known entities, due now, awaiting stitch): for readiness checks and tests.
    pub async fn backlog(&self) -> CatalogResult<(i64, i64, i64)> {
        self.db
            .read(|conn| store::processing_backlog(conn, now_millis()))
            .await
    }
}

/// Parses a full ref from user input (no defaults): `kind:namespace/name`.
pub fn parse_full_ref(text: &str) -> CatalogResult<EntityRef> {
    EntityRef::parse(text, RefDefaults::default())
        .map_err(|e| CatalogError::InvalidInput(e.to_string()))
}

impl From<ReadError> for CatalogError {
    fn from(e: ReadError) -> Self {
        match e {
            ReadError::NotFound(m) => CatalogError::NotFound(m),
            ReadError::NotAllowed(m) | ReadError::Invalid(m) => CatalogError::InvalidInput(m),
            ReadError::Transient(m) => CatalogError::InvalidInput(m),
        }
    }
}
