//! Sort specifications: `order=asc:<field>` of `GET /entities` and `orderField=<field>,asc|desc`
//! of `GET /entities/by-query`.

use serde::{Deserialize, Serialize};

use crate::error::QueryError;
use crate::js::is_line_terminator;

/// Sort direction.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SortOrder {
    /// Ascending (the default).
    #[default]
    Asc,
    /// Descending.
    Desc,
}

impl SortOrder {
    /// `"asc"` or `"desc"`, as the API spells it.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Asc => "asc",
            Self::Desc => "desc",
        }
    }

    /// The opposite direction (used when paging backwards).
    pub fn reversed(self) -> Self {
        match self {
            Self::Asc => Self::Desc,
            Self::Desc => Self::Asc,
        }
    }

    /// Parses exactly `asc` or `desc` (case-sensitive, as Backstage).
    fn parse(text: &str) -> Option<Self> {
        match text {
            "asc" => Some(Self::Asc),
            "desc" => Some(Self::Desc),
            _ => None,
        }
    }
}

/// One sort key: a search-row key (dotted entity path) and a direction.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct OrderField {
    /// The field as the client wrote it; compare it with search rows via
    /// [`OrderField::search_key`].
    pub field: String,
    /// Sort direction.
    pub order: SortOrder,
}

impl OrderField {
    /// The lower-cased field, i.e. the search-row key whose value entities are sorted by.
    pub fn search_key(&self) -> String {
        self.field.to_lowercase()
    }
}

/// Parses the repeatable `order` parameter of `GET /entities`: each is `asc:<field>` or
/// `desc:<field>` (field non-empty, no line breaks, kept as written). `None` without parameters.
pub fn parse_order_params(params: &[String]) -> Result<Option<Vec<OrderField>>, QueryError> {
    if params.is_empty() {
        return Ok(None);
    }
    params
        .iter()
        .map(|item| {
            let parsed = item.split_once(':').and_then(|(order, field)| {
                let order = SortOrder::parse(order)?;
                let valid = !field.is_empty() && !field.chars().any(is_line_terminator);
                valid.then(|| OrderField {
                    field: field.to_owned(),
                    order,
                })
            });
            parsed.ok_or_else(|| {
                QueryError::input(format!(
                    "Invalid order parameter \"{item}\", expected \"<asc or desc>:<field name>\""
                ))
            })
        })
        .collect::<Result<Vec<_>, _>>()
        .map(Some)
}

/// Parses the repeatable `orderField` parameter of `GET /entities/by-query`: each is
/// `<field>` or `<field>,asc|desc` (split on commas; parts after the second are ignored, as in
/// Backstage). A missing direction means ascending. `None` without parameters.
///
/// Only the first field sorts by-query results; the rest are kept so cursors carry them.
pub fn parse_order_field_params(params: &[String]) -> Result<Option<Vec<OrderField>>, QueryError> {
    if params.is_empty() {
        return Ok(None);
    }
    params
        .iter()
        .map(|item| {
            let mut parts = item.split(',');
            let field = parts.next().unwrap_or_default();
            let order = match parts.next() {
                None => SortOrder::Asc,
                Some(text) => SortOrder::parse(text).ok_or_else(invalid_order_field_order)?,
            };
            Ok(OrderField {
                field: field.to_owned(),
                order,
            })
        })
        .collect::<Result<Vec<_>, _>>()
        .map(Some)
}

/// Parses one `{ field, order }` of a `POST /entities/by-query` body's `orderBy`.
pub(crate) fn order_field_from_parts(field: &str, order: &str) -> Result<OrderField, QueryError> {
    Ok(OrderField {
        field: field.to_owned(),
        order: SortOrder::parse(order).ok_or_else(invalid_order_field_order)?,
    })
}

/// Backstage's message for a direction other than `asc`/`desc`.
fn invalid_order_field_order() -> QueryError {
    QueryError::input("Invalid order field order, must be asc or desc")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn strings(values: &[&str]) -> Vec<String> {
        values.iter().map(|v| (*v).to_owned()).collect()
    }

    fn field(field: &str, order: SortOrder) -> OrderField {
        OrderField {
            field: field.to_owned(),
            order,
        }
    }

    #[test]
    fn order_params() {
        assert_eq!(parse_order_params(&[]).unwrap(), None);
        assert_eq!(
            parse_order_params(&strings(&["asc:metadata.name", "desc:Spec.Type"])).unwrap(),
            Some(vec![
                field("metadata.name", SortOrder::Asc),
                field("Spec.Type", SortOrder::Desc)
            ])
        );
        // Everything after the first colon is the field.
        assert_eq!(
            parse_order_params(&strings(&["asc:a:b"])).unwrap(),
            Some(vec![field("a:b", SortOrder::Asc)])
        );
    }

    #[test]
    fn bad_order_params() {
        for bad in [
            "metadata.name",
            "asc:",
            "ASC:x",
            "up:x",
            ":x",
            "asc:a\nb",
            " asc:x",
        ] {
            let error = parse_order_params(&strings(&[bad])).unwrap_err();
            assert_eq!(
                error.message(),
                format!(
                    "Invalid order parameter \"{bad}\", expected \"<asc or desc>:<field name>\""
                ),
            );
        }
    }

    #[test]
    fn order_field_params() {
        assert_eq!(parse_order_field_params(&[]).unwrap(), None);
        assert_eq!(
            parse_order_field_params(&strings(&[
                "metadata.name,asc",
                "spec.owner,desc",
                "kind",
                "x,desc,ignored"
            ]))
            .unwrap(),
            Some(vec![
                field("metadata.name", SortOrder::Asc),
                field("spec.owner", SortOrder::Desc),
                field("kind", SortOrder::Asc),
                field("x", SortOrder::Desc),
            ])
        );
    }

    #[test]
    fn bad_order_field_params() {
        for bad in [
            "metadata.name,",
            "metadata.name,ASC",
            "metadata.name,up",
            "a, asc",
        ] {
            let error = parse_order_field_params(&strings(&[bad])).unwrap_err();
            assert_eq!(
                error.message(),
                "Invalid order field order, must be asc or desc",
                "{bad}"
            );
        }
    }

    #[test]
    fn search_key_and_helpers() {
        assert_eq!(
            field("Metadata.Name", SortOrder::Asc).search_key(),
            "metadata.name"
        );
        assert_eq!(SortOrder::Asc.reversed(), SortOrder::Desc);
        assert_eq!(SortOrder::Desc.as_str(), "desc");
        assert_eq!(
            serde_json::to_value(field("a", SortOrder::Desc)).unwrap(),
            serde_json::json!({ "field": "a", "order": "desc" })
        );
    }
}
