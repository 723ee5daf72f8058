//! Processing one entity: validation, placeholder substitution, reading Location targets into
//! child entities, and deriving relations. The output is written by the engine in one
//! transaction; nothing here touches the database, except through the [`ChildSink`] the
//! engine may hand a Location's processing.

mod annotate;
mod placeholders;
mod rules;

pub use rules::{CatalogRule, RuleLocation, RulesEnforcer};

use crate::read::{normalize_type, LocationReader, ReadError};
use futures_util::future::BoxFuture;
use portico_model::{
    annotations, derive_relations, parse_yaml_documents, prepare_entity, validate_entity,
    EntityRef, LocationSpec, Presence, Relation,
};
use serde_json::{json, Value};
use std::sync::Arc;

/// One `status.items[]` entry, stored as it is served.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct StatusItem {
    #[serde(rename = "type")]
    pub item_type: String,
    pub level: String,
    pub message: String,
    pub error: StatusError,
}

#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct StatusError {
    pub name: String,
    pub message: String,
}

impl StatusItem {
    pub fn error(name: &str, message: impl Into<String>) -> Self {
        let message = message.into();
        StatusItem {
            item_type: "backstage.io/catalog-processing".to_string(),
            level: "error".to_string(),
            message: format!("{name}: {message}"),
            error: StatusError {
                name: name.to_string(),
                message,
            },
        }
    }
}

/// An entity emitted by a Location, with the key of the file it came from.
#[derive(Debug, Clone, PartialEq)]
pub struct EmittedEntity {
    pub entity_ref: String,
    /// The entity as JSON text, and the hash of that text. A location may emit a whole
    /// catalog at once; kept serialized, that costs a fraction of its size as JSON values.
    pub text: String,
    pub hash: String,
    pub location_key: String,
}

impl EmittedEntity {
    pub fn new(entity_ref: String, entity: &Value, location_key: String) -> Self {
        let text = entity.to_string();
        Self {
            entity_ref,
            hash: crate::stitch::text_hash(&text),
            text,
            location_key,
        }
    }

    /// The entity as a JSON value.
    pub fn entity(&self) -> Value {
        serde_json::from_str(&self.text).unwrap_or(Value::Null)
    }
}

/// Where a Location's children are written while its targets are read, a chunk at a time: a
/// location may emit a whole catalog, and holding all of it until the end was most of the
/// memory an ingest used. The sink records the chunk's children as the location's and answers,
/// for each child, the error that keeps it from being the location's (another location
/// provides it), if any.
pub type ChildSink = Arc<
    dyn Fn(Vec<EmittedEntity>) -> BoxFuture<'static, Result<Vec<Option<StatusItem>>, String>>
        + Send
        + Sync,
>;

/// Children a Location holds before it hands them to its [`ChildSink`].
const CHILD_SINK_CHUNK: usize = 1_000;

/// A digest of every child an entity emitted (its ref, file and content hash), whether it is
/// still held or was written through the sink: what the result hash needs of the children.
#[derive(Debug, Clone, Default)]
pub struct ChildrenDigest(sha2::Sha256);

impl ChildrenDigest {
    fn add(&mut self, child: &EmittedEntity) {
        use sha2::Digest;
        for part in [&child.entity_ref, &child.location_key, &child.hash] {
            self.0.update((part.len() as u64).to_le_bytes());
            self.0.update(part.as_bytes());
        }
    }

    /// The digest so far, as hex.
    pub fn hex(&self) -> String {
        use sha2::Digest;
        hex::encode(self.0.clone().finalize())
    }
}

/// What processing made of one entity.
#[derive(Debug, Clone, Default)]
pub struct ProcessingOutput {
    /// The processed entity; `None` when it failed (the last good form is kept).
    pub processed: Option<Value>,
    pub relations: Vec<Relation>,
    /// Children emitted and not yet written.
    pub children: Vec<EmittedEntity>,
    /// Refs of children written through the sink and accepted as this entity's.
    pub written_children: Vec<String>,
    pub children_digest: ChildrenDigest,
    /// Location keys (`type:target` of files) that could not be read this time: children that
    /// came from them stay as they are.
    pub unread_location_keys: Vec<String>,
    pub errors: Vec<StatusItem>,
}

/// Turns unprocessed entities into processed ones. Cheap to clone.
#[derive(Clone)]
pub struct Processor {
    reader: LocationReader,
    rules: RulesEnforcer,
}

impl Processor {
    pub fn new(reader: LocationReader, rules: RulesEnforcer) -> Self {
        Self { reader, rules }
    }

    pub fn reader(&self) -> &LocationReader {
        &self.reader
    }

    /// Processes one entity, holding every child it emits in the output.
    pub async fn process(&self, unprocessed: &Value) -> ProcessingOutput {
        self.process_with_sink(unprocessed, None).await
    }

    /// Processes one entity; a Location's children go to `sink` a chunk at a time. Should the
    /// sink fail, the processing fails (the last good result is kept).
    pub async fn process_with_sink(
        &self,
        unprocessed: &Value,
        sink: Option<&ChildSink>,
    ) -> ProcessingOutput {
        let mut out = ProcessingOutput::default();
        let mut entity = unprocessed.clone();
        prepare_entity(&mut entity);
        let entity_ref = match EntityRef::of_entity(&entity) {
            Ok(r) => r,
            Err(e) => {
                out.errors
                    .push(StatusItem::error("InputError", e.to_string()));
                return out;
            }
        };
        let source = source_of(&entity);
        let problems = validate_entity(&entity);
        if !problems.is_empty() {
            let detail = problems
                .iter()
                .map(|p| p.to_string())
                .collect::<Vec<_>>()
                .join("; ");
            out.errors.push(StatusItem::error(
                "InputError",
                format!(
                    "Policy check failed for {entity_ref}{}; caused by {detail}",
                    describe_source(&source)
                ),
            ));
            return out;
        }

        if let Some((loc_type, loc_target)) = &source {
            if let Err(e) =
                placeholders::resolve(&self.reader, loc_type, loc_target, &mut entity).await
            {
                out.errors.push(StatusItem::error(
                    e.error_name(),
                    format!("Placeholder substitution failed for {entity_ref}: {e}"),
                ));
                return out;
            }
        }

        let (relations, ref_errors) = derive_relations(&entity);
        for e in ref_errors {
            out.errors.push(StatusItem::error(
                "InputError",
                format!("Relation could not be derived for {entity_ref}: {e}"),
            ));
        }
        out.relations = relations;

        if entity_ref.kind.eq_ignore_ascii_case("location") {
            let read =
                self.read_location_targets(&entity, &entity_ref, source.as_ref(), sink, &mut out);
            if let Err(e) = read.await {
                // Some children were handed over and the rest are lost: the processing fails,
                // and the next one writes them all again.
                out.errors.push(StatusItem::error(
                    "DatabaseError",
                    format!("Writing the entities {entity_ref} emits failed: {e}"),
                ));
                return out;
            }
        }
        out.processed = Some(entity);
        out
    }

    /// Hands the children held so far to the sink.
    async fn flush_children(out: &mut ProcessingOutput, sink: &ChildSink) -> Result<(), String> {
        let chunk = std::mem::take(&mut out.children);
        let refs: Vec<String> = chunk.iter().map(|c| c.entity_ref.clone()).collect();
        let verdicts = sink(chunk).await?;
        for (child_ref, verdict) in refs.into_iter().zip(verdicts) {
            match verdict {
                None => out.written_children.push(child_ref),
                Some(error) => out.errors.push(error),
            }
        }
        Ok(())
    }

    async fn read_location_targets(
        &self,
        entity: &Value,
        entity_ref: &EntityRef,
        source: Option<&(String, String)>,
        sink: Option<&ChildSink>,
        out: &mut ProcessingOutput,
    ) -> Result<(), String> {
        let spec = LocationSpec::of_entity(entity);
        let origin = entity
            .pointer("/metadata/annotations")
            .and_then(|a| a.get(annotations::MANAGED_BY_ORIGIN_LOCATION))
            .and_then(Value::as_str)
            .map(str::to_string);
        let default_type = source
            .map(|(t, _)| t.clone())
            .unwrap_or_else(|| "url".to_string());
        let loc_type =
            normalize_type(spec.location_type.as_deref().unwrap_or(&default_type)).to_string();
        for raw_target in &spec.targets {
            // Relative targets resolve against the file this Location came from, when it is
            // of the same type; a target of another type must be absolute.
            let target = match source {
                Some((source_type, base)) if normalize_type(source_type) == loc_type => {
                    self.reader.resolve_relative(&loc_type, base, raw_target)
                }
                _ => Ok(raw_target.clone()),
            };
            let target = match target {
                Ok(t) => t,
                Err(e) => {
                    out.errors
                        .push(StatusItem::error(e.error_name(), e.to_string()));
                    continue;
                }
            };
            let key = format!("{loc_type}:{target}");
            let files = match self.reader.read_target(&loc_type, &target).await {
                Ok(files) => files,
                Err(ReadError::NotFound(_)) if spec.presence == Presence::Optional => {
                    continue;
                }
                Err(e) => {
                    out.unread_location_keys.push(key.clone());
                    out.errors.push(StatusItem::error(
                        e.error_name(),
                        format!("Unable to read {key}, {e}"),
                    ));
                    continue;
                }
            };
            if files.is_empty() {
                // An empty glob is not an error, but it may hide a transient problem: keep
                // nothing from it, as Backstage does.
                continue;
            }
            for file in files {
                let file_key = format!("{loc_type}:{}", file.target);
                let origin = origin.clone().unwrap_or_else(|| file_key.clone());
                self.emit_file(
                    entity_ref,
                    &loc_type,
                    &file.target,
                    &file.content,
                    &origin,
                    out,
                );
                if let Some(sink) = sink.filter(|_| out.children.len() >= CHILD_SINK_CHUNK) {
                    Self::flush_children(out, sink).await?;
                }
            }
        }
        Ok(())
    }

    /// Turns one read file into child entities; bad documents become errors on the Location
    /// naming the file, the document and the field, and never stop the other documents.
    fn emit_file(
        &self,
        parent: &EntityRef,
        loc_type: &str,
        target: &str,
        content: &str,
        origin: &str,
        out: &mut ProcessingOutput,
    ) {
        let file_key = format!("{loc_type}:{target}");
        for doc in parse_yaml_documents(content) {
            let mut value = match doc.value {
                Ok(v) => v,
                Err(message) => {
                    // The rest of this file could not be read: keep what it emitted before.
                    out.unread_location_keys.push(file_key.clone());
                    out.errors.push(StatusItem::error(
                        "InputError",
                        format!("{target}, document {}: YAML error: {message}", doc.index),
                    ));
                    continue;
                }
            };
            prepare_entity(&mut value);
            let child_ref = match EntityRef::of_entity(&value) {
                Ok(r) => r,
                Err(e) => {
                    out.errors.push(StatusItem::error(
                        "InputError",
                        format!("{target}, document {}: {e}", doc.index),
                    ));
                    continue;
                }
            };
            if !self
                .rules
                .is_allowed(&child_ref.kind, loc_type, target, origin)
            {
                out.errors.push(StatusItem::error(
                    "NotAllowedError",
                    format!(
                        "{target}, document {}: entity {child_ref} of kind {} is not allowed from that location",
                        doc.index, child_ref.kind
                    ),
                ));
                continue;
            }
            let problems = validate_entity(&value);
            if !problems.is_empty() {
                let detail = problems
                    .iter()
                    .map(|p| p.to_string())
                    .collect::<Vec<_>>()
                    .join("; ");
                out.errors.push(StatusItem::error(
                    "InputError",
                    format!(
                        "{target}, document {}: {child_ref} is not valid: {detail}",
                        doc.index
                    ),
                ));
                // Still emitted, so an entity that was valid before keeps its last good form
                // and shows the error itself.
            }
            annotate::annotate_child(&mut value, loc_type, target, origin);
            if child_ref == *parent {
                continue;
            }
            let child = EmittedEntity::new(child_ref.to_string(), &value, file_key.clone());
            out.children_digest.add(&child);
            out.children.push(child);
        }
    }
}

/// The `type:target` of the file an entity was read from.
fn source_of(entity: &Value) -> Option<(String, String)> {
    let key = entity
        .pointer("/metadata/annotations")?
        .get(annotations::MANAGED_BY_LOCATION)?
        .as_str()?;
    let (t, target) = key.split_once(':')?;
    Some((t.to_string(), target.to_string()))
}

fn describe_source(source: &Option<(String, String)>) -> String {
    match source {
        Some((t, target)) => format!(" (from {t}:{target})"),
        None => String::new(),
    }
}

/// The Location entity a provider emits for a registered or configured location.
pub fn root_location_entity(location_type: &str, target: &str) -> Value {
    let key = format!("{location_type}:{target}");
    json!({
        "apiVersion": "backstage.io/v1alpha1",
        "kind": "Location",
        "metadata": {
            "name": generated_location_name(location_type, target),
            "namespace": "default",
            "annotations": {
                annotations::MANAGED_BY_LOCATION: key,
                annotations::MANAGED_BY_ORIGIN_LOCATION: key,
            }
        },
        "spec": { "type": location_type, "target": target, "presence": "required" }
    })
}

/// `generated-<sha1 of "type:target">`, Backstage's name for a registered location's entity.
pub fn generated_location_name(location_type: &str, target: &str) -> String {
    use sha1::Digest;
    let digest = sha1::Sha1::digest(format!("{location_type}:{target}").as_bytes());
    format!("generated-{}", hex::encode(digest))
}
