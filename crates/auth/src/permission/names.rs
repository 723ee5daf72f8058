//! Backstage's permissions (name, action attribute, resource type), as the catalog and
//! scaffolder plugins define them.

use std::borrow::Cow;

use serde::{Deserialize, Serialize};

/// The `action` attribute of a permission.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum PermissionAction {
    Create,
    Read,
    Update,
    Delete,
}

impl PermissionAction {
    pub fn parse(text: &str) -> Option<Self> {
        match text {
            "create" => Some(Self::Create),
            "read" => Some(Self::Read),
            "update" => Some(Self::Update),
            "delete" => Some(Self::Delete),
            _ => None,
        }
    }
}

/// The resource type of catalog entity permissions, the only one conditions apply to here.
pub const RESOURCE_TYPE_CATALOG_ENTITY: &str = "catalog-entity";

/// A permission being asked about.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Permission {
    pub name: Cow<'static, str>,
    pub action: Option<PermissionAction>,
    /// Set for resource permissions, whose decisions may be conditional.
    pub resource_type: Option<Cow<'static, str>>,
}

const fn known(
    name: &'static str,
    action: Option<PermissionAction>,
    resource_type: Option<&'static str>,
) -> Permission {
    Permission {
        name: Cow::Borrowed(name),
        action,
        resource_type: match resource_type {
            Some(t) => Some(Cow::Borrowed(t)),
            None => None,
        },
    }
}

use PermissionAction::{Create, Delete, Read, Update};

pub const CATALOG_ENTITY_READ: Permission = known(
    "catalog.entity.read",
    Some(Read),
    Some(RESOURCE_TYPE_CATALOG_ENTITY),
);
pub const CATALOG_ENTITY_CREATE: Permission = known("catalog.entity.create", Some(Create), None);
pub const CATALOG_ENTITY_DELETE: Permission = known(
    "catalog.entity.delete",
    Some(Delete),
    Some(RESOURCE_TYPE_CATALOG_ENTITY),
);
pub const CATALOG_ENTITY_REFRESH: Permission = known(
    "catalog.entity.refresh",
    Some(Update),
    Some(RESOURCE_TYPE_CATALOG_ENTITY),
);
pub const CATALOG_ENTITY_VALIDATE: Permission = known("catalog.entity.validate", None, None);
pub const CATALOG_LOCATION_READ: Permission = known("catalog.location.read", Some(Read), None);
pub const CATALOG_LOCATION_CREATE: Permission =
    known("catalog.location.create", Some(Create), None);
pub const CATALOG_LOCATION_DELETE: Permission =
    known("catalog.location.delete", Some(Delete), None);
pub const CATALOG_LOCATION_ANALYZE: Permission = known("catalog.location.analyze", None, None);
pub const SCAFFOLDER_ACTION_EXECUTE: Permission =
    known("scaffolder.action.execute", None, Some("scaffolder-action"));
pub const SCAFFOLDER_TEMPLATE_PARAMETER_READ: Permission = known(
    "scaffolder.template.parameter.read",
    Some(Read),
    Some("scaffolder-template"),
);
pub const SCAFFOLDER_TEMPLATE_STEP_READ: Permission = known(
    "scaffolder.template.step.read",
    Some(Read),
    Some("scaffolder-template"),
);
pub const SCAFFOLDER_TASK_CREATE: Permission = known("scaffolder.task.create", Some(Create), None);
pub const SCAFFOLDER_TASK_READ: Permission =
    known("scaffolder.task.read", Some(Read), Some("scaffolder-task"));
pub const SCAFFOLDER_TASK_CANCEL: Permission =
    known("scaffolder.task.cancel", None, Some("scaffolder-task"));

/// Every permission Portico checks.
pub const ALL_PERMISSIONS: &[Permission] = &[
    CATALOG_ENTITY_READ,
    CATALOG_ENTITY_CREATE,
    CATALOG_ENTITY_DELETE,
    CATALOG_ENTITY_REFRESH,
    CATALOG_ENTITY_VALIDATE,
    CATALOG_LOCATION_READ,
    CATALOG_LOCATION_CREATE,
    CATALOG_LOCATION_DELETE,
    CATALOG_LOCATION_ANALYZE,
    SCAFFOLDER_ACTION_EXECUTE,
    SCAFFOLDER_TEMPLATE_PARAMETER_READ,
    SCAFFOLDER_TEMPLATE_STEP_READ,
    SCAFFOLDER_TASK_CREATE,
    SCAFFOLDER_TASK_READ,
    SCAFFOLDER_TASK_CANCEL,
];

impl Permission {
    /// A known permission by name.
    pub fn by_name(name: &str) -> Option<Permission> {
        ALL_PERMISSIONS.iter().find(|p| p.name == name).cloned()
    }

    /// The plugin that owns the permission (`catalog` for `catalog.entity.read`), which
    /// external-access restrictions are keyed by.
    pub fn plugin_id(&self) -> &str {
        self.name.split('.').next().unwrap_or_default()
    }

    pub fn is_catalog_entity_resource(&self) -> bool {
        self.resource_type.as_deref() == Some(RESOURCE_TYPE_CATALOG_ENTITY)
    }
}
