//! Portico's entity model: the Backstage envelope, entity references, the validation rules of
//! every built-in kind, and the relations each kind's spec declares. Pure: no I/O, no database.
//!
//! Entities are kept as `serde_json::Value` so that unknown spec fields survive round trips
//! unchanged; the functions here read and check them.

mod document;
mod entity_ref;
pub mod format;
mod location;
mod relations;
mod schema;
mod validation;

pub use document::{parse_yaml_documents, ParsedDocument};
pub use entity_ref::{EntityRef, RefDefaults, RefError, DEFAULT_NAMESPACE};
pub use location::{LocationSpec, Presence};
pub use relations::{derive_relations, reverse_relation, Relation, RELATION_PAIRS};
pub use validation::{
    is_placeholder, prepare_entity, validate_entity, FieldError, PLACEHOLDER_KEYS,
};

/// The relation type names, e.g. [`relation::RELATION_OWNED_BY`].
pub mod relation {
    pub use crate::relations::{
        RELATION_API_CONSUMED_BY, RELATION_API_PROVIDED_BY, RELATION_CHILD_OF,
        RELATION_CONSUMES_API, RELATION_DEPENDENCY_OF, RELATION_DEPENDS_ON, RELATION_HAS_MEMBER,
        RELATION_HAS_PART, RELATION_MEMBER_OF, RELATION_OWNED_BY, RELATION_OWNER_OF,
        RELATION_PARENT_OF, RELATION_PART_OF, RELATION_PROVIDES_API,
    };
}

/// Annotation keys the catalog sets itself.
pub mod annotations {
    pub const MANAGED_BY_LOCATION: &str = "backstage.io/managed-by-location";
    pub const MANAGED_BY_ORIGIN_LOCATION: &str = "backstage.io/managed-by-origin-location";
    pub const ORPHAN: &str = "backstage.io/orphan";
    pub const VIEW_URL: &str = "backstage.io/view-url";
    pub const EDIT_URL: &str = "backstage.io/edit-url";
    pub const SOURCE_LOCATION: &str = "backstage.io/source-location";
}
