//! Request parsing for the query endpoints: `GET /entities`, `GET|POST /entities/by-query`,
//! `POST /entities/by-refs` and `GET|POST /entity-facets`, with Backstage 4.0.x defaults and
//! validation. Query strings arrive as decoded `(name, value)` pairs, names repeatable.

use serde_json::{Map, Value};

use crate::cursor::{string_array, whole_number, AfterCursor, Cursor, FullTextFilter, Pagination};
use crate::error::QueryError;
use crate::fields::{parse_fields_params, parse_fields_with_extra};
use crate::filter::{parse_filter_params, EntityFilter};
use crate::js::js_trim;
use crate::order::{
    order_field_from_parts, parse_order_field_params, parse_order_params, OrderField,
};
use crate::predicate::{parse_predicate_query, parse_predicate_with_context};

/// Page size of `/entities/by-query` when the request gives none (Backstage 4.0.x; the API
/// description's "20" is outdated).
pub const DEFAULT_BY_QUERY_LIMIT: u64 = 200;

/// Query parameters `GET /entities` documents.
pub const LIST_PARAMS: &[&str] = &["fields", "limit", "filter", "offset", "after", "order"];
/// Query parameters `GET /entities/by-query` documents.
pub const BY_QUERY_PARAMS: &[&str] = &[
    "fields",
    "limit",
    "offset",
    "orderField",
    "cursor",
    "filter",
    "totalItems",
    "fullTextFilterTerm",
    "fullTextFilterFields",
];
/// Query parameters `GET /entity-facets` documents.
pub const FACET_PARAMS: &[&str] = &["facet", "filter"];

/// Backstage 4.0.x's request validator refuses query parameters an endpoint does not document
/// (`Unknown query parameter 'x'`). The parsers here ignore unknown names; call this first to
/// be as strict as Backstage.
pub fn reject_unknown_params(
    pairs: &[(String, String)],
    allowed: &[&str],
) -> Result<(), QueryError> {
    match pairs
        .iter()
        .find(|(name, _)| !allowed.contains(&name.as_str()))
    {
        Some((name, _)) => Err(QueryError::input(format!(
            "Unknown query parameter '{name}'"
        ))),
        None => Ok(()),
    }
}

/// Whether `/entities/by-query` computes `totalItems`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum TotalItemsMode {
    /// Count the matching entities (the default).
    #[default]
    Include,
    /// Skip the count and report 0.
    Exclude,
}

impl TotalItemsMode {
    fn parse(text: &str) -> Option<Self> {
        match text {
            "include" => Some(Self::Include),
            "exclude" => Some(Self::Exclude),
            _ => None,
        }
    }
}

/// A parsed `GET /entities` request.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ListRequest {
    /// Entities to return; `None`: all.
    pub filter: Option<EntityFilter>,
    /// Paths to keep in each entity; `None`: whole entities.
    pub fields: Option<Vec<String>>,
    /// `order` parameters in priority order (fields as written); `None`: by entity ref.
    pub order: Option<Vec<OrderField>>,
    /// `limit` (> 0).
    pub limit: Option<u64>,
    /// `offset`.
    pub offset: Option<u64>,
    /// The decoded `after` cursor.
    pub after: Option<AfterCursor>,
}

impl ListRequest {
    /// The page to return, with the `after` cursor's values overriding `limit`/`offset`; `None`
    /// when none of the three was given (stream the whole result as one array).
    pub fn pagination(&self) -> Option<Pagination> {
        if self.limit.is_none() && self.offset.is_none() && self.after.is_none() {
            return None;
        }
        let after = self.after.unwrap_or_default();
        Some(Pagination {
            limit: after.limit.or(self.limit),
            offset: after.offset.or(self.offset),
        })
    }
}

/// A parsed `/entities/by-query` request (GET or POST).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ByQueryRequest {
    /// Filter of an initial request (`None` with a cursor: the cursor carries it).
    pub filter: Option<EntityFilter>,
    /// Order fields of an initial request; empty: by uid.
    pub order_fields: Vec<OrderField>,
    /// Full-text search of an initial request.
    pub full_text: Option<FullTextFilter>,
    /// Page size; see [`ByQueryRequest::limit_or_default`].
    pub limit: Option<u64>,
    /// Rows to skip; initial requests only (dropped when a cursor is given).
    pub offset: Option<u64>,
    /// Paths to keep in each entity.
    pub fields: Option<Vec<String>>,
    /// The decoded cursor of a follow-up request.
    pub cursor: Option<Cursor>,
    /// Whether to count; always `Exclude` with a cursor, whose `total_items` is reused.
    pub total_items_mode: TotalItemsMode,
}

impl ByQueryRequest {
    /// The page size: `limit`, else [`DEFAULT_BY_QUERY_LIMIT`]. A limit of 0 returns no items
    /// (but still the total).
    pub fn limit_or_default(&self) -> u64 {
        self.limit.unwrap_or(DEFAULT_BY_QUERY_LIMIT)
    }

    /// The listing state to run: the cursor, or an initial state built from the request.
    pub fn state(&self) -> Cursor {
        match &self.cursor {
            Some(cursor) => cursor.clone(),
            None => Cursor::initial(
                self.filter.clone(),
                self.order_fields.clone(),
                self.full_text.clone(),
            ),
        }
    }

    /// Whether `totalItems` must be counted now. Otherwise report the cursor's `total_items`,
    /// or 0 (`totalItems=exclude`, or a cursor without a total).
    pub fn needs_count(&self) -> bool {
        self.total_items_mode == TotalItemsMode::Include
            && self.cursor.as_ref().is_none_or(|c| c.total_items.is_none())
    }
}

/// A parsed `POST /entities/by-refs` request.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ByRefsRequest {
    /// The refs as sent (not yet validated or lower-cased), in response order.
    pub entity_refs: Vec<String>,
    /// Paths to keep: the body's `fields` followed by the query's.
    pub fields: Option<Vec<String>>,
    /// The query's `filter` and the body's `query`, both required when both are given.
    pub filter: Option<EntityFilter>,
}

/// A parsed `/entity-facets` request.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FacetRequest {
    /// Facet keys as requested (the response uses them as written; match them lower-cased).
    pub facets: Vec<String>,
    /// Entities to count.
    pub filter: Option<EntityFilter>,
}

/// Access to repeatable query-string pairs.
struct Params<'a>(&'a [(String, String)]);

impl Params<'_> {
    /// Every value of a parameter, in order.
    fn all(&self, name: &str) -> Vec<String> {
        self.0
            .iter()
            .filter(|(key, _)| key == name)
            .map(|(_, value)| value.clone())
            .collect()
    }

    /// A parameter that may appear once (the validator rejects a repeated scalar, which the
    /// query-string parser turns into an array).
    fn single(&self, name: &str, kind: &str) -> Result<Option<&str>, QueryError> {
        let mut values = self
            .0
            .iter()
            .filter(|(key, _)| key == name)
            .map(|(_, value)| value.as_str());
        match (values.next(), values.next()) {
            (first, None) => Ok(first),
            _ => Err(QueryError::input(format!(
                "request/query/{name} must be {kind}"
            ))),
        }
    }

    /// A non-negative integer parameter, with the validator's messages.
    fn integer(&self, name: &str) -> Result<Option<u64>, QueryError> {
        let Some(text) = self.single(name, "integer")? else {
            return Ok(None);
        };
        let digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
        if digits(text) {
            // Absurdly large numbers saturate rather than fail: they mean "everything".
            return Ok(Some(text.parse().unwrap_or(u64::MAX)));
        }
        match text.strip_prefix('-') {
            Some(rest) if digits(rest) && rest.bytes().any(|b| b != b'0') => Err(
                QueryError::input(format!("request/query/{name} must be >= 0")),
            ),
            Some(rest) if digits(rest) => Ok(Some(0)),
            _ => Err(QueryError::input(format!(
                "request/query/{name} must be integer"
            ))),
        }
    }
}

/// Parses `GET /entities` parameters: `filter`, `fields`, `order`, and the legacy paging trio
/// `limit` (> 0), `offset` (>= 0), `after` (non-empty cursor, decoded here).
pub fn parse_list_params(pairs: &[(String, String)]) -> Result<ListRequest, QueryError> {
    let params = Params(pairs);
    let limit = params.integer("limit")?;
    let offset = params.integer("offset")?;
    let after = params.single("after", "string")?;
    let filter = parse_filter_params(&params.all("filter"))?;
    let fields = parse_fields_params(&params.all("fields"))?;
    let order = parse_order_params(&params.all("order"))?;
    if limit == Some(0) {
        return Err(QueryError::input(
            "Invalid limit, must be greater than zero",
        ));
    }
    let after = match after {
        None => None,
        Some("") => return Err(QueryError::input("Invalid after, must not be empty")),
        Some(text) => Some(AfterCursor::decode(text)?),
    };
    Ok(ListRequest {
        filter,
        fields,
        order,
        limit,
        offset,
        after,
    })
}

/// Parses `GET /entities/by-query` parameters.
///
/// With `cursor`, only `fields` and `limit` are read besides it (`filter`, `orderField`,
/// `fullTextFilter*`, `offset` and `totalItems` are ignored: the cursor carries the listing).
/// Otherwise: `filter`, `orderField`, `fullTextFilterTerm`, `fullTextFilterFields`
/// (comma-separated), `limit`, `offset`, `totalItems=include|exclude`.
pub fn parse_by_query_params(pairs: &[(String, String)]) -> Result<ByQueryRequest, QueryError> {
    let params = Params(pairs);
    let fields = parse_fields_params(&params.all("fields"))?;
    let limit = params.integer("limit")?;
    let offset = params.integer("offset")?;
    let total_items = params.single("totalItems", "string")?;
    let total_items_mode = match total_items {
        None => TotalItemsMode::Include,
        Some(text) => TotalItemsMode::parse(text).ok_or_else(|| {
            QueryError::input(format!(
                "Invalid totalItems parameter \"{text}\", expected one of: include, exclude"
            ))
        })?,
    };
    if let Some(cursor) = params.single("cursor", "string")? {
        if cursor.is_empty() {
            return Err(QueryError::input(
                "request/query/cursor must NOT have fewer than 1 characters",
            ));
        }
        return Ok(ByQueryRequest {
            fields,
            limit,
            cursor: Some(Cursor::decode(cursor)?),
            total_items_mode: TotalItemsMode::Exclude,
            ..ByQueryRequest::default()
        });
    }
    let filter = parse_filter_params(&params.all("filter"))?;
    let order_fields = parse_order_field_params(&params.all("orderField"))?.unwrap_or_default();
    let term = params.single("fullTextFilterTerm", "string")?;
    let text_fields = params.all("fullTextFilterFields");
    let text_fields = (!text_fields.is_empty()).then(|| {
        text_fields
            .iter()
            .flat_map(|value| value.split(','))
            .map(js_trim)
            .filter(|field| !field.is_empty())
            .map(str::to_owned)
            .collect::<Vec<_>>()
    });
    let full_text = (term.is_some() || text_fields.is_some()).then(|| FullTextFilter {
        term: term.unwrap_or_default().to_owned(),
        fields: text_fields,
    });
    Ok(ByQueryRequest {
        filter,
        order_fields,
        full_text,
        limit,
        offset,
        fields,
        cursor: None,
        total_items_mode,
    })
}

/// The JSON object of a request body; an absent body (`null`) counts as `{}`.
fn body_object(json: &Value) -> Result<Map<String, Value>, QueryError> {
    match json {
        Value::Null => Ok(Map::new()),
        Value::Object(object) => Ok(object.clone()),
        _ => Err(QueryError::input("request/body must be object")),
    }
}

/// The validator's type error for a body property.
fn body_type_error(name: &str, kind: &str) -> QueryError {
    QueryError::input(format!("request/body/{name} must be {kind}"))
}

/// An optional body property that must be a list of strings.
fn body_strings(body: &Map<String, Value>, name: &str) -> Result<Option<Vec<String>>, QueryError> {
    body.get(name)
        .map(|value| string_array(value).ok_or_else(|| body_type_error(name, "array of strings")))
        .transpose()
}

/// An optional body property that must be a non-negative whole number.
fn body_count(body: &Map<String, Value>, name: &str) -> Result<Option<u64>, QueryError> {
    body.get(name)
        .map(|value| {
            whole_number(value).ok_or_else(|| {
                QueryError::input(format!("Invalid {name}, must be a non-negative integer"))
            })
        })
        .transpose()
}

/// Parses a `POST /entities/by-query` body: `{ cursor?, limit?, offset?, orderBy?: [{field,
/// order}], fullTextFilter?: {term?, fields?}, fields?: [..], totalItems?, query? }`.
///
/// With `cursor` (non-empty), only `fields` and `limit` are read besides it.
pub fn parse_by_query_body(json: &Value) -> Result<ByQueryRequest, QueryError> {
    let body = body_object(json)?;
    let fields = match body_strings(&body, "fields")? {
        Some(list) if !list.is_empty() => parse_fields_params(&list)?,
        _ => None,
    };
    let limit = body_count(&body, "limit")?;
    let offset = body_count(&body, "offset")?;
    if let Some(cursor) = body.get("cursor") {
        let Value::String(cursor) = cursor else {
            return Err(body_type_error("cursor", "string"));
        };
        if cursor.is_empty() {
            return Err(QueryError::input("Cursor cannot be empty"));
        }
        return Ok(ByQueryRequest {
            fields,
            limit,
            cursor: Some(Cursor::decode(cursor)?),
            total_items_mode: TotalItemsMode::Exclude,
            ..ByQueryRequest::default()
        });
    }
    let filter = body
        .get("query")
        .map(parse_predicate_query)
        .transpose()?
        .flatten();
    let order_fields = match body.get("orderBy") {
        None => Vec::new(),
        Some(Value::Array(items)) => items
            .iter()
            .map(|item| {
                let field = item.get("field").and_then(Value::as_str);
                let order = item.get("order").and_then(Value::as_str);
                match (field, order) {
                    (Some(field), Some(order)) => order_field_from_parts(field, order),
                    _ => Err(body_type_error(
                        "orderBy",
                        "an array of { field: string, order: 'asc' | 'desc' }",
                    )),
                }
            })
            .collect::<Result<Vec<_>, _>>()?,
        Some(_) => return Err(body_type_error("orderBy", "array")),
    };
    let full_text = match body.get("fullTextFilter") {
        None => None,
        Some(Value::Object(object)) => {
            let term = match object.get("term") {
                None => String::new(),
                Some(Value::String(term)) => term.clone(),
                Some(_) => return Err(body_type_error("fullTextFilter/term", "string")),
            };
            let fields = body_strings(object, "fields")
                .map_err(|_| body_type_error("fullTextFilter/fields", "array of strings"))?;
            Some(FullTextFilter { term, fields })
        }
        Some(_) => return Err(body_type_error("fullTextFilter", "object")),
    };
    let total_items_mode = match body.get("totalItems") {
        None => TotalItemsMode::Include,
        Some(value) => value
            .as_str()
            .and_then(TotalItemsMode::parse)
            .ok_or_else(|| {
                let shown = value
                    .as_str()
                    .map_or_else(|| value.to_string(), str::to_owned);
                QueryError::input(format!(
                    "Invalid totalItems value \"{shown}\", expected one of: include, exclude"
                ))
            })?,
    };
    Ok(ByQueryRequest {
        filter,
        order_fields,
        full_text,
        limit,
        offset,
        fields,
        cursor: None,
        total_items_mode,
    })
}

/// Parses `POST /entities/by-refs`: body `{ entityRefs: [string], fields?: [string], query? }`
/// plus the query string's `filter` and `fields`.
pub fn parse_by_refs_request(
    pairs: &[(String, String)],
    body: &Value,
) -> Result<ByRefsRequest, QueryError> {
    const CONTEXT: &str =
        "Malformed request body (did you remember to specify an application/json content type?), ";
    let malformed =
        |detail: &str| QueryError::input(format!("{CONTEXT}Validation error: {detail}"));
    let Value::Object(object) = body else {
        return Err(malformed("Expected object, received non-object"));
    };
    let entity_refs = match object.get("entityRefs") {
        None => return Err(malformed("Required at \"entityRefs\"")),
        Some(value) => string_array(value)
            .ok_or_else(|| malformed("Expected array of strings at \"entityRefs\""))?,
    };
    let body_fields = match object.get("fields") {
        None => Vec::new(),
        Some(value) => string_array(value)
            .ok_or_else(|| malformed("Expected array of strings at \"fields\""))?,
    };
    let query = object
        .get("query")
        .map(|query| parse_predicate_with_context(query, CONTEXT))
        .transpose()?
        .flatten();
    let params = Params(pairs);
    let filter = match (parse_filter_params(&params.all("filter"))?, query) {
        (Some(param), Some(query)) => Some(param.and(query)),
        (param, query) => param.or(query),
    };
    let fields = parse_fields_with_extra(&body_fields, &params.all("fields"))?;
    Ok(ByRefsRequest {
        entity_refs,
        fields,
        filter,
    })
}

/// Parses `GET /entity-facets`: repeatable `facet` (at least one non-empty, else
/// `Missing facet parameter`) and `filter`.
pub fn parse_facet_params(pairs: &[(String, String)]) -> Result<FacetRequest, QueryError> {
    let params = Params(pairs);
    let filter = parse_filter_params(&params.all("filter"))?;
    let facets: Vec<String> = params
        .all("facet")
        .into_iter()
        .filter(|facet| !facet.is_empty())
        .collect();
    if facets.is_empty() {
        return Err(QueryError::input("Missing facet parameter"));
    }
    Ok(FacetRequest { facets, filter })
}

/// Parses a `POST /entity-facets` body: `{ facets: [string], query? }`.
pub fn parse_facets_body(json: &Value) -> Result<FacetRequest, QueryError> {
    let body = body_object(json)?;
    let facets: Vec<String> = body_strings(&body, "facets")?
        .unwrap_or_default()
        .into_iter()
        .filter(|facet| !facet.is_empty())
        .collect();
    if facets.is_empty() {
        return Err(QueryError::input("Missing or empty facets parameter"));
    }
    let filter = body
        .get("query")
        .map(parse_predicate_query)
        .transpose()?
        .flatten();
    Ok(FacetRequest { facets, filter })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::order::SortOrder;
    use serde_json::json;

    fn pairs(items: &[(&str, &str)]) -> Vec<(String, String)> {
        items
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    fn message<T: std::fmt::Debug>(result: Result<T, QueryError>) -> String {
        result.unwrap_err().message().to_owned()
    }

    #[test]
    fn list_defaults() {
        let request = parse_list_params(&[]).unwrap();
        assert_eq!(request, ListRequest::default());
        assert_eq!(request.pagination(), None);
    }

    #[test]
    fn list_full() {
        let after = AfterCursor {
            limit: Some(5),
            offset: Some(10),
        }
        .encode();
        let request = parse_list_params(&pairs(&[
            ("filter", "kind=component"),
            ("filter", "kind=api"),
            ("fields", "kind,metadata.name"),
            ("order", "desc:metadata.name"),
            ("limit", "3"),
            ("offset", "1"),
            ("after", &after),
            ("unknown", "ignored"),
        ]))
        .unwrap();
        assert_eq!(
            request.filter,
            Some(EntityFilter::Any(vec![
                EntityFilter::equals("kind", "component"),
                EntityFilter::equals("kind", "api")
            ]))
        );
        assert_eq!(
            request.fields,
            Some(vec!["kind".to_owned(), "metadata.name".to_owned()])
        );
        assert_eq!(
            request.order,
            Some(vec![OrderField {
                field: "metadata.name".to_owned(),
                order: SortOrder::Desc
            }])
        );
        assert_eq!(
            request.pagination(),
            Some(Pagination {
                limit: Some(5),
                offset: Some(10)
            })
        );
        let request = parse_list_params(&pairs(&[("offset", "7")])).unwrap();
        assert_eq!(
            request.pagination(),
            Some(Pagination {
                limit: None,
                offset: Some(7)
            })
        );
    }

    #[test]
    fn list_errors() {
        assert_eq!(
            message(parse_list_params(&pairs(&[("limit", "0")]))),
            "Invalid limit, must be greater than zero"
        );
        assert_eq!(
            message(parse_list_params(&pairs(&[("limit", "-1")]))),
            "request/query/limit must be >= 0"
        );
        assert_eq!(
            message(parse_list_params(&pairs(&[("offset", "x")]))),
            "request/query/offset must be integer"
        );
        assert_eq!(
            message(parse_list_params(&pairs(&[("limit", "1"), ("limit", "2")]))),
            "request/query/limit must be integer"
        );
        assert_eq!(
            message(parse_list_params(&pairs(&[("after", "")]))),
            "Invalid after, must not be empty"
        );
        assert_eq!(
            message(parse_list_params(&pairs(&[("after", "%%%")]))),
            "Malformed after cursor, could not be parsed"
        );
        assert!(message(parse_list_params(&pairs(&[("order", "name")])))
            .starts_with("Invalid order parameter"));
        assert!(
            message(parse_list_params(&pairs(&[("filter", "=x")]))).starts_with("Invalid filter")
        );
        assert!(
            message(parse_list_params(&pairs(&[("fields", "a[0]")]))).starts_with("Invalid field")
        );
        assert_eq!(
            parse_list_params(&pairs(&[("offset", "-0")]))
                .unwrap()
                .offset,
            Some(0)
        );
    }

    #[test]
    fn by_query_initial() {
        let request = parse_by_query_params(&pairs(&[
            (
                "filter",
                "kind=component,relations.ownedby=group:default/team-a",
            ),
            ("fields", "metadata.name"),
            ("orderField", "metadata.name,asc"),
            ("orderField", "metadata.title,desc"),
            ("fullTextFilterTerm", "pet"),
            (
                "fullTextFilterFields",
                "metadata.name, metadata.title,,spec.profile.displayName",
            ),
            ("limit", "20"),
            ("offset", "40"),
            ("totalItems", "exclude"),
        ]))
        .unwrap();
        assert_eq!(
            request.filter,
            Some(EntityFilter::All(vec![
                EntityFilter::equals("kind", "component"),
                EntityFilter::equals("relations.ownedby", "group:default/team-a"),
            ]))
        );
        assert_eq!(request.order_fields.len(), 2);
        assert_eq!(
            request.full_text,
            Some(FullTextFilter {
                term: "pet".to_owned(),
                fields: Some(vec![
                    "metadata.name".to_owned(),
                    "metadata.title".to_owned(),
                    "spec.profile.displayName".to_owned()
                ])
            })
        );
        assert_eq!(request.limit_or_default(), 20);
        assert_eq!(request.offset, Some(40));
        assert_eq!(request.total_items_mode, TotalItemsMode::Exclude);
        assert!(!request.needs_count());
        let state = request.state();
        assert!(state.is_initial());
        assert_eq!(state.filter, request.filter);
    }

    #[test]
    fn by_query_defaults() {
        let request = parse_by_query_params(&[]).unwrap();
        assert_eq!(request.limit_or_default(), DEFAULT_BY_QUERY_LIMIT);
        assert_eq!(request.total_items_mode, TotalItemsMode::Include);
        assert!(request.needs_count());
        assert!(request.order_fields.is_empty());
        assert_eq!(request.full_text, None);
        assert_eq!(
            parse_by_query_params(&pairs(&[("limit", "0")]))
                .unwrap()
                .limit,
            Some(0)
        );
    }

    #[test]
    fn by_query_with_cursor_ignores_listing_params() {
        let cursor = Cursor {
            filter: Some(EntityFilter::equals("kind", "api")),
            total_items: Some(9),
            first_sort_field_values: Some(vec![Some("u".to_owned())]),
            order_field_values: vec![Some("u2".to_owned())],
            ..Cursor::default()
        };
        let request = parse_by_query_params(&pairs(&[
            ("cursor", &cursor.encode()),
            ("filter", "=broken but ignored"),
            ("orderField", "x,sideways"),
            ("offset", "5"),
            ("limit", "2"),
            ("fields", "kind"),
        ]))
        .unwrap();
        assert_eq!(request.cursor.as_ref(), Some(&cursor));
        assert_eq!(request.filter, None);
        assert_eq!(request.offset, None);
        assert_eq!(request.limit, Some(2));
        assert_eq!(request.fields, Some(vec!["kind".to_owned()]));
        assert!(!request.needs_count());
        assert_eq!(request.state(), cursor);
    }

    #[test]
    fn by_query_errors() {
        assert_eq!(
            message(parse_by_query_params(&pairs(&[("cursor", "")]))),
            "request/query/cursor must NOT have fewer than 1 characters"
        );
        assert!(
            message(parse_by_query_params(&pairs(&[("cursor", "garbage")])))
                .starts_with("Malformed cursor: ")
        );
        assert_eq!(
            message(parse_by_query_params(&pairs(&[("totalItems", "maybe")]))),
            "Invalid totalItems parameter \"maybe\", expected one of: include, exclude"
        );
        assert_eq!(
            message(parse_by_query_params(&pairs(&[("orderField", "a,up")]))),
            "Invalid order field order, must be asc or desc"
        );
        assert_eq!(
            message(parse_by_query_params(&pairs(&[("limit", "1.5")]))),
            "request/query/limit must be integer"
        );
    }

    #[test]
    fn by_query_body_initial() {
        let request = parse_by_query_body(&json!({
            "query": { "kind": "component" },
            "orderBy": [{ "field": "metadata.name", "order": "desc" }],
            "fullTextFilter": { "term": "pet" },
            "fields": ["kind,metadata.name"],
            "limit": 10,
            "offset": 0,
            "totalItems": "include"
        }))
        .unwrap();
        assert_eq!(
            request.filter,
            Some(EntityFilter::equals("kind", "component"))
        );
        assert_eq!(
            request.order_fields,
            vec![OrderField {
                field: "metadata.name".to_owned(),
                order: SortOrder::Desc
            }]
        );
        assert_eq!(
            request.full_text,
            Some(FullTextFilter {
                term: "pet".to_owned(),
                fields: None
            })
        );
        assert_eq!(
            request.fields,
            Some(vec!["kind".to_owned(), "metadata.name".to_owned()])
        );
        assert_eq!(request.limit, Some(10));
        assert_eq!(request.offset, Some(0));

        assert_eq!(
            parse_by_query_body(&json!(null)).unwrap(),
            ByQueryRequest::default()
        );
        assert_eq!(
            parse_by_query_body(&json!({})).unwrap(),
            ByQueryRequest::default()
        );
        assert_eq!(
            parse_by_query_body(&json!({ "query": {}, "fields": [] })).unwrap(),
            ByQueryRequest::default()
        );
    }

    #[test]
    fn by_query_body_cursor_and_errors() {
        let cursor = Cursor::default();
        let request = parse_by_query_body(&json!({
            "cursor": cursor.encode(),
            "query": "ignored",
            "limit": 5,
        }))
        .unwrap();
        assert_eq!(request.cursor, Some(cursor));
        assert_eq!(request.limit, Some(5));
        assert_eq!(request.total_items_mode, TotalItemsMode::Exclude);

        assert_eq!(
            message(parse_by_query_body(&json!({ "cursor": "" }))),
            "Cursor cannot be empty"
        );
        assert!(
            message(parse_by_query_body(&json!({ "cursor": 5 }))).contains("cursor must be string")
        );
        assert!(message(parse_by_query_body(&json!({ "query": "kind" })))
            .starts_with("Invalid query: "));
        assert_eq!(
            message(parse_by_query_body(
                &json!({ "orderBy": [{ "field": "a", "order": "up" }] })
            )),
            "Invalid order field order, must be asc or desc"
        );
        assert!(parse_by_query_body(&json!({ "orderBy": [{ "field": "a" }] })).is_err());
        assert!(parse_by_query_body(&json!({ "orderBy": "a" })).is_err());
        assert!(parse_by_query_body(&json!({ "limit": -1 })).is_err());
        assert!(parse_by_query_body(&json!({ "limit": 1.5 })).is_err());
        assert!(parse_by_query_body(&json!({ "limit": null })).is_err());
        assert!(parse_by_query_body(&json!({ "fields": "kind" })).is_err());
        assert!(parse_by_query_body(&json!({ "fullTextFilter": { "term": 1 } })).is_err());
        assert!(parse_by_query_body(&json!({ "fullTextFilter": { "fields": "a" } })).is_err());
        assert_eq!(
            message(parse_by_query_body(&json!({ "totalItems": "some" }))),
            "Invalid totalItems value \"some\", expected one of: include, exclude"
        );
        assert!(parse_by_query_body(&json!([1])).is_err());
    }

    #[test]
    fn by_refs() {
        let request = parse_by_refs_request(
            &pairs(&[("filter", "kind=component"), ("fields", "metadata.name")]),
            &json!({
                "entityRefs": ["component:default/a", "api:default/b"],
                "fields": ["kind"],
                "query": { "spec.type": "service" }
            }),
        )
        .unwrap();
        assert_eq!(request.entity_refs.len(), 2);
        assert_eq!(
            request.fields,
            Some(vec!["kind".to_owned(), "metadata.name".to_owned()])
        );
        assert_eq!(
            request.filter,
            Some(EntityFilter::All(vec![
                EntityFilter::equals("kind", "component"),
                EntityFilter::equals("spec.type", "service"),
            ]))
        );
        let plain = parse_by_refs_request(&[], &json!({ "entityRefs": [] })).unwrap();
        assert_eq!(plain, ByRefsRequest::default());

        assert!(
            message(parse_by_refs_request(&[], &json!({}))).starts_with("Malformed request body")
        );
        assert!(parse_by_refs_request(&[], &json!({ "entityRefs": [1] })).is_err());
        assert!(parse_by_refs_request(&[], &json!(null)).is_err());
        assert!(message(parse_by_refs_request(
            &[],
            &json!({ "entityRefs": [], "query": "x" })
        ))
        .starts_with("Malformed request body"));
    }

    #[test]
    fn facets() {
        let request = parse_facet_params(&pairs(&[
            ("facet", "spec.type"),
            ("facet", ""),
            ("facet", "metadata.tags"),
            ("filter", "kind=component"),
        ]))
        .unwrap();
        assert_eq!(
            request.facets,
            vec!["spec.type".to_owned(), "metadata.tags".to_owned()]
        );
        assert_eq!(
            request.filter,
            Some(EntityFilter::equals("kind", "component"))
        );
        assert_eq!(message(parse_facet_params(&[])), "Missing facet parameter");
        assert_eq!(
            message(parse_facet_params(&pairs(&[("facet", "")]))),
            "Missing facet parameter"
        );

        let request =
            parse_facets_body(&json!({ "facets": ["kind"], "query": { "kind": "api" } })).unwrap();
        assert_eq!(request.facets, vec!["kind".to_owned()]);
        assert_eq!(request.filter, Some(EntityFilter::equals("kind", "api")));
        assert_eq!(
            message(parse_facets_body(&json!({ "facets": [] }))),
            "Missing or empty facets parameter"
        );
        assert_eq!(
            message(parse_facets_body(&json!({}))),
            "Missing or empty facets parameter"
        );
        assert!(parse_facets_body(&json!({ "facets": "kind" })).is_err());
    }

    #[test]
    fn unknown_params() {
        assert!(
            reject_unknown_params(&pairs(&[("filter", "x"), ("limit", "1")]), LIST_PARAMS).is_ok()
        );
        assert_eq!(
            message(reject_unknown_params(&pairs(&[("kind", "x")]), LIST_PARAMS)),
            "Unknown query parameter 'kind'"
        );
        assert!(reject_unknown_params(&pairs(&[("cursor", "x")]), BY_QUERY_PARAMS).is_ok());
        assert!(reject_unknown_params(&pairs(&[("order", "x")]), BY_QUERY_PARAMS).is_err());
        assert!(reject_unknown_params(&pairs(&[("facet", "x")]), FACET_PARAMS).is_ok());
    }
}
