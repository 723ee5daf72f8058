//! Permissions: Backstage's permission names, a policy read from config, and conditional
//! decisions that become catalog filters.

mod condition;
mod names;
mod policy;

pub use condition::{CatalogRule, Condition};
pub use names::*;
pub use policy::{
    CallerFallback, Decision, PermissionConfig, PermissionPolicy, PermissionRuleConfig, RuleResult,
};
