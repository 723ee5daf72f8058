//! Request and response bodies of the catalog API, in Backstage's shapes.

use serde::{Deserialize, Serialize};
use serde_json::Value;

#[derive(Debug, Deserialize)]
pub struct LocationInput {
    #[serde(rename = "type")]
    pub location_type: String,
    pub target: String,
}

#[derive(Debug, Serialize)]
pub struct LocationOut {
    pub id: String,
    #[serde(rename = "type")]
    pub location_type: String,
    pub target: String,
}

impl From<portico_catalog::store::LocationRow> for LocationOut {
    fn from(r: portico_catalog::store::LocationRow) -> Self {
        Self {
            id: r.id,
            location_type: r.location_type,
            target: r.target,
        }
    }
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AddLocationQuery {
    #[serde(default)]
    pub dry_run: Option<String>,
    #[serde(default)]
    pub on_conflict: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RefreshInput {
    pub entity_ref: String,
    #[serde(default)]
    #[allow(
        dead_code,
        reason = "accepted for compatibility; identity comes from the Authorization header"
    )]
    pub authorization_token: Option<String>,
}

#[derive(Debug, Deserialize)]
pub struct ValidateInput {
    pub entity: Value,
    pub location: String,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AnalyzeInput {
    pub location: LocationInput,
    #[serde(default)]
    pub catalog_file_name: Option<String>,
}
