//! Paging state: the opaque cursors of `/entities/by-query` (base64 JSON carrying the filter,
//! order, full-text search, boundary row and total), the full-text filter itself, and the
//! legacy `after` cursor of `GET /entities` (base64 JSON `{limit, offset}`).

use base64::alphabet;
use base64::engine::general_purpose::{GeneralPurpose, GeneralPurposeConfig, STANDARD};
use base64::engine::DecodePaddingMode;
use base64::Engine as _;
use serde_json::{Map, Value};

use crate::error::QueryError;
use crate::filter::EntityFilter;
use crate::js::js_trim;
use crate::order::{order_field_from_parts, OrderField, SortOrder};
use crate::predicate::{parse_own_predicate, to_predicate_json, PredicateError};
use crate::search::SearchRow;

/// A base64 decoder as forgiving as Node's `Buffer.from(s, "base64")`: padding optional and
/// stray trailing bits ignored (URL-safe characters and whitespace are normalised beforehand).
const LENIENT_BASE64: GeneralPurpose = GeneralPurpose::new(
    &alphabet::STANDARD,
    GeneralPurposeConfig::new()
        .with_decode_padding_mode(DecodePaddingMode::Indifferent)
        .with_decode_allow_trailing_bits(true),
);

/// Decodes base64 the way Node does: both alphabets, padding optional, characters outside the
/// alphabet skipped, decoding stopping at the first `=`. A `+` that reached us as a space
/// (an unencoded query string) is restored.
fn decode_base64_lenient(encoded: &str) -> Vec<u8> {
    let mut cleaned: String = encoded
        .chars()
        .take_while(|c| *c != '=')
        .filter_map(|c| match c {
            '-' | ' ' => Some('+'),
            '_' => Some('/'),
            c if c.is_ascii_alphanumeric() || c == '+' || c == '/' => Some(c),
            _ => None,
        })
        .collect();
    // A lone trailing character carries no whole byte; Node drops it.
    if cleaned.len() % 4 == 1 {
        cleaned.pop();
    }
    LENIENT_BASE64.decode(cleaned).unwrap_or_default()
}

/// The full-text part of a by-query request: a case-insensitive substring search over some
/// search-row keys.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FullTextFilter {
    /// The search term as sent; trimmed before use, and an empty term filters nothing.
    pub term: String,
    /// The keys to search; `None` means the sort field, or `metadata.uid` when unsorted.
    pub fields: Option<Vec<String>>,
}

impl FullTextFilter {
    /// The trimmed, lower-cased term, or `None` when it is empty (no full-text filtering).
    pub fn normalized_term(&self) -> Option<String> {
        let term = js_trim(&self.term);
        (!term.is_empty()).then(|| term.to_lowercase())
    }

    /// The lower-cased search-row keys searched, given the request's sort field.
    pub fn effective_fields(&self, sort_field: Option<&OrderField>) -> Vec<String> {
        match &self.fields {
            Some(fields) => fields.iter().map(|f| f.to_lowercase()).collect(),
            None => {
                vec![sort_field.map_or_else(|| "metadata.uid".to_owned(), OrderField::search_key)]
            }
        }
    }

    /// Whether an entity's rows pass the filter: some row of a searched key has a value
    /// `LIKE '%term%'`. As in Backstage, `%` and `_` in the term are SQL wildcards (not
    /// escaped) and `\` escapes the next character (PostgreSQL's default LIKE escape).
    pub fn matches(&self, sort_field: Option<&OrderField>, rows: &[SearchRow]) -> bool {
        let Some(term) = self.normalized_term() else {
            return true;
        };
        let pattern = like_pattern(&format!("%{term}%"));
        let fields = self.effective_fields(sort_field);
        rows.iter().any(|row| {
            fields.contains(&row.key)
                && row
                    .value
                    .as_deref()
                    .is_some_and(|value| like_matches(value, &pattern))
        })
    }

    fn to_json(&self) -> Value {
        let mut object = Map::new();
        object.insert("term".to_owned(), Value::String(self.term.clone()));
        if let Some(fields) = &self.fields {
            let fields = fields.iter().cloned().map(Value::String).collect();
            object.insert("fields".to_owned(), Value::Array(fields));
        }
        Value::Object(object)
    }

    fn from_json(value: &Value) -> Result<Self, String> {
        let Value::Object(object) = value else {
            return Err("fullTextFilter must be an object".to_owned());
        };
        let Some(Value::String(term)) = object.get("term") else {
            return Err("fullTextFilter.term must be a string".to_owned());
        };
        let fields = match object.get("fields") {
            None => None,
            Some(value) => Some(
                string_array(value).ok_or("fullTextFilter.fields must be an array of strings")?,
            ),
        };
        Ok(Self {
            term: term.clone(),
            fields,
        })
    }
}

/// One element of a parsed LIKE pattern.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum LikeToken {
    /// `%`: any run of characters.
    AnyRun,
    /// `_`: exactly one character.
    AnyOne,
    /// A character to match literally.
    Literal(char),
}

/// Parses a LIKE pattern; a trailing lone `\` is taken literally.
fn like_pattern(pattern: &str) -> Vec<LikeToken> {
    let mut tokens = Vec::new();
    let mut characters = pattern.chars();
    while let Some(character) = characters.next() {
        tokens.push(match character {
            '%' => LikeToken::AnyRun,
            '_' => LikeToken::AnyOne,
            '\\' => LikeToken::Literal(characters.next().unwrap_or('\\')),
            other => LikeToken::Literal(other),
        });
    }
    tokens
}

/// Wildcard matching with backtracking to the last `%` (linear in practice, O(n·m) at worst).
fn like_matches(value: &str, pattern: &[LikeToken]) -> bool {
    let text: Vec<char> = value.chars().collect();
    let (mut t, mut p) = (0_usize, 0_usize);
    let mut backtrack: Option<(usize, usize)> = None;
    while t < text.len() {
        match pattern.get(p) {
            Some(LikeToken::AnyRun) => {
                backtrack = Some((p, t));
                p += 1;
                continue;
            }
            Some(LikeToken::AnyOne) => {
                t += 1;
                p += 1;
                continue;
            }
            Some(LikeToken::Literal(expected)) if text.get(t) == Some(expected) => {
                t += 1;
                p += 1;
                continue;
            }
            _ => {}
        }
        match backtrack {
            Some((star, start)) => {
                p = star + 1;
                t = start + 1;
                backtrack = Some((star, start + 1));
            }
            None => return false,
        }
    }
    pattern[p.min(pattern.len())..]
        .iter()
        .all(|token| *token == LikeToken::AnyRun)
}

/// The state of a `/entities/by-query` listing, as carried by its opaque cursors.
///
/// A request without `cursor` starts from [`Cursor::initial`]; each response's `nextCursor` and
/// `prevCursor` come from [`Cursor::page_cursors`]. The encoding is Backstage's: base64 of
/// JSON `{orderFields, orderFieldValues, isPrevious, filter | query, fullTextFilter?,
/// firstSortFieldValues?, totalItems?}`, so cursors from either implementation decode here.
///
/// Paging rules (Backstage's): results are sorted by the first order field's search value, then
/// by entity uid, in the field's direction (reversed while `is_prev`); entities without a value
/// for the sort field are not listed at all. A page after a boundary `[value, uid]` holds rows
/// with `value` beyond it, or equal and `uid` beyond it ([`Cursor::admits`]).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Cursor {
    /// Sort fields; only the first one sorts, the rest ride along (Backstage logs a warning).
    pub order_fields: Vec<OrderField>,
    /// The boundary row of the previous page: `[sort value, uid]` with a sort field, else
    /// `[uid]`; empty on an initial request (no boundary).
    pub order_field_values: Vec<Option<String>>,
    /// The filter of the initial request.
    pub filter: Option<EntityFilter>,
    /// The full-text search of the initial request.
    pub full_text: Option<FullTextFilter>,
    /// Whether this cursor pages backwards (it was a `prevCursor`).
    pub is_prev: bool,
    /// The total computed on the first page, repeated on every later page.
    pub total_items: Option<u64>,
    /// The sort values of the first row of the first page, which tells later pages whether a
    /// previous page exists; `None` on the initial request.
    pub first_sort_field_values: Option<Vec<Option<String>>>,
}

/// The cursors of one by-query response page.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PageCursors {
    /// `pageInfo.nextCursor`, when more rows follow.
    pub next: Option<Cursor>,
    /// `pageInfo.prevCursor`, when rows precede this page.
    pub prev: Option<Cursor>,
}

impl Cursor {
    /// The state of an initial request (no boundary, no total yet, forward).
    pub fn initial(
        filter: Option<EntityFilter>,
        order_fields: Vec<OrderField>,
        full_text: Option<FullTextFilter>,
    ) -> Self {
        Self {
            order_fields,
            filter,
            full_text,
            ..Self::default()
        }
    }

    /// Whether this is the first request of a listing (Backstage: no `firstSortFieldValues`).
    pub fn is_initial(&self) -> bool {
        self.first_sort_field_values.is_none()
    }

    /// The field results are sorted by (the first order field), if any.
    pub fn sort_field(&self) -> Option<&OrderField> {
        self.order_fields.first()
    }

    /// The direction rows are fetched in: the sort direction (ascending without a sort field),
    /// reversed while paging backwards. Backward pages are fetched reversed and then flipped.
    pub fn fetch_order(&self) -> SortOrder {
        let order = self
            .sort_field()
            .map_or(SortOrder::Asc, |field| field.order);
        if self.is_prev {
            order.reversed()
        } else {
            order
        }
    }

    /// The values a row contributes to a cursor: `[sort value, uid]` with a sort field, else
    /// `[uid]`.
    pub fn row_sort_values(&self, sort_value: Option<&str>, uid: &str) -> Vec<Option<String>> {
        let uid = Some(uid.to_owned());
        match self.sort_field() {
            Some(_) => vec![sort_value.map(str::to_owned), uid],
            None => vec![uid],
        }
    }

    /// Whether a row lies beyond this cursor's boundary (in fetch direction), comparing strings
    /// by code point. Rows are `(lower-cased sort value, uid)`; as in SQL, a null on either side
    /// never compares, so such rows are not admitted past a boundary.
    pub fn admits(&self, sort_value: Option<&str>, uid: &str) -> bool {
        let descending = self
            .sort_field()
            .is_some_and(|f| f.order == SortOrder::Desc);
        match self.order_field_values.as_slice() {
            [boundary_value, boundary_uid] => {
                let before = self.is_prev != descending;
                let beyond = |row: &str, boundary: &str| {
                    if before {
                        row < boundary
                    } else {
                        row > boundary
                    }
                };
                let (Some(value), Some(boundary_value)) = (sort_value, boundary_value.as_deref())
                else {
                    return false;
                };
                beyond(value, boundary_value)
                    || (value == boundary_value
                        && boundary_uid.as_deref().is_some_and(|b| beyond(uid, b)))
            }
            [boundary_uid] => boundary_uid.as_deref().is_some_and(|boundary| {
                if self.is_prev {
                    uid < boundary
                } else {
                    uid > boundary
                }
            }),
            _ => true,
        }
    }

    /// The next/previous cursors of a page, by Backstage's rules.
    ///
    /// `first` and `last` are the [`row_sort_values`](Cursor::row_sort_values) of the page's
    /// first and last row in display order (`None` for an empty page); `has_more` is Backstage's
    /// `limit > 0 && (is_prev || rows fetched > limit)`; `total_items` is the total to report.
    pub fn page_cursors(
        &self,
        first: Option<&[Option<String>]>,
        last: Option<&[Option<String>]>,
        has_more: bool,
        total_items: u64,
    ) -> PageCursors {
        // An empty page contributes nulls, exactly as JavaScript's `row?.value` would.
        let width = if self.sort_field().is_some() { 2 } else { 1 };
        let or_nulls = |values: Option<&[Option<String>]>| {
            values.map_or_else(|| vec![None; width], <[Option<String>]>::to_vec)
        };
        let first_values = or_nulls(first);
        let first_of_listing = self
            .first_sort_field_values
            .clone()
            .unwrap_or_else(|| first_values.clone());
        let next = has_more.then(|| Cursor {
            order_field_values: or_nulls(last),
            first_sort_field_values: Some(first_of_listing),
            is_prev: false,
            total_items: Some(total_items),
            ..self.clone()
        });
        let prev = match &self.first_sort_field_values {
            Some(listing_first) if first.is_some() && first_values != *listing_first => {
                Some(Cursor {
                    order_field_values: first_values,
                    first_sort_field_values: Some(listing_first.clone()),
                    is_prev: true,
                    total_items: Some(total_items),
                    ..self.clone()
                })
            }
            _ => None,
        };
        PageCursors { next, prev }
    }

    /// Encodes the cursor as Backstage does: base64 of its JSON. The filter goes in the legacy
    /// `filter` form when it can, because `@backstage/catalog-client` switches to
    /// `POST /entities/by-query` for cursors that carry a `query`.
    pub fn encode(&self) -> String {
        let mut object = Map::new();
        let order_fields = self
            .order_fields
            .iter()
            .map(|f| serde_json::json!({ "field": f.field, "order": f.order.as_str() }))
            .collect();
        object.insert("orderFields".to_owned(), Value::Array(order_fields));
        object.insert(
            "orderFieldValues".to_owned(),
            optional_strings_json(&self.order_field_values),
        );
        object.insert("isPrevious".to_owned(), Value::Bool(self.is_prev));
        if let Some(filter) = &self.filter {
            match filter.to_legacy_json() {
                Some(legacy) => object.insert("filter".to_owned(), legacy),
                None => object.insert("query".to_owned(), to_predicate_json(filter)),
            };
        }
        if let Some(full_text) = &self.full_text {
            object.insert("fullTextFilter".to_owned(), full_text.to_json());
        }
        if let Some(values) = &self.first_sort_field_values {
            object.insert(
                "firstSortFieldValues".to_owned(),
                optional_strings_json(values),
            );
        }
        if let Some(total) = self.total_items {
            object.insert("totalItems".to_owned(), Value::from(total));
        }
        STANDARD.encode(Value::Object(object).to_string())
    }

    /// Decodes a cursor from [`Cursor::encode`] (or from Backstage). Anything malformed is an
    /// input error `Malformed cursor: ...`; never panics.
    pub fn decode(encoded: &str) -> Result<Cursor, QueryError> {
        let bytes = decode_base64_lenient(encoded);
        let text = String::from_utf8_lossy(&bytes);
        let value: Value = serde_json::from_str(&text)
            .map_err(|error| malformed(format!("SyntaxError: {error}")))?;
        Self::from_json(&value).map_err(malformed)
    }

    fn from_json(value: &Value) -> Result<Cursor, String> {
        let Value::Object(object) = value else {
            return Err("Expected object".to_owned());
        };
        let Some(Value::Array(raw_order_fields)) = object.get("orderFields") else {
            return Err("orderFields must be an array".to_owned());
        };
        let order_fields = raw_order_fields
            .iter()
            .map(|item| {
                let field = item.get("field").and_then(Value::as_str);
                let order = item.get("order").and_then(Value::as_str);
                match (field, order) {
                    (Some(field), Some(order)) => {
                        order_field_from_parts(field, order).map_err(|e| e.message().to_owned())
                    }
                    _ => Err("orderFields items need a string field and order".to_owned()),
                }
            })
            .collect::<Result<Vec<_>, _>>()?;
        let order_field_values = object
            .get("orderFieldValues")
            .and_then(optional_strings)
            .ok_or("orderFieldValues must be an array of strings or nulls")?;
        let Some(Value::Bool(is_prev)) = object.get("isPrevious") else {
            return Err("isPrevious must be a boolean".to_owned());
        };
        let full_text = object
            .get("fullTextFilter")
            .map(FullTextFilter::from_json)
            .transpose()?;
        let legacy = object
            .get("filter")
            .map(|value| EntityFilter::from_legacy_json(value, 0))
            .transpose()?;
        let query = object
            .get("query")
            .map(|value| {
                parse_own_predicate(value).map_err(|error| match error {
                    PredicateError::Schema(detail) | PredicateError::Semantic(detail) => detail,
                })
            })
            .transpose()?;
        // Backstage applies both when both are present.
        let filter = match (legacy, query) {
            (Some(legacy), Some(query)) => Some(legacy.and(query)),
            (legacy, query) => legacy.or(query),
        };
        let first_sort_field_values = object
            .get("firstSortFieldValues")
            .map(|value| {
                optional_strings(value)
                    .ok_or("firstSortFieldValues must be an array of strings or nulls")
            })
            .transpose()?;
        let total_items = object
            .get("totalItems")
            .map(|value| whole_number(value).ok_or("totalItems must be a non-negative integer"))
            .transpose()?;
        Ok(Cursor {
            order_fields,
            order_field_values,
            filter,
            full_text,
            is_prev: *is_prev,
            total_items,
            first_sort_field_values,
        })
    }
}

/// Backstage's cursor error wording.
fn malformed(detail: String) -> QueryError {
    QueryError::input(format!("Malformed cursor: {detail}"))
}

/// `[string | null]` as JSON.
fn optional_strings_json(values: &[Option<String>]) -> Value {
    Value::Array(
        values
            .iter()
            .map(|v| v.clone().map_or(Value::Null, Value::String))
            .collect(),
    )
}

/// Reads `[string | null]`.
fn optional_strings(value: &Value) -> Option<Vec<Option<String>>> {
    value
        .as_array()?
        .iter()
        .map(|item| match item {
            Value::Null => Some(None),
            Value::String(text) => Some(Some(text.clone())),
            _ => None,
        })
        .collect()
}

/// Reads `[string]`.
pub(crate) fn string_array(value: &Value) -> Option<Vec<String>> {
    value
        .as_array()?
        .iter()
        .map(|item| item.as_str().map(str::to_owned))
        .collect()
}

/// A JSON number that is a whole non-negative integer (`3` or `3.0`, as `Number.isInteger`).
pub(crate) fn whole_number(value: &Value) -> Option<u64> {
    let Value::Number(number) = value else {
        return None;
    };
    if let Some(unsigned) = number.as_u64() {
        return Some(unsigned);
    }
    let float = number.as_f64()?;
    // The range check keeps the cast exact; 2^64 itself is out of range.
    (float.fract() == 0.0 && (0.0..18_446_744_073_709_551_616.0).contains(&float))
        .then_some(float as u64)
}

/// Offset paging of `GET /entities`: how many entities to return and skip.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Pagination {
    /// Page size; `None` returns everything after `offset`.
    pub limit: Option<u64>,
    /// Entities to skip.
    pub offset: Option<u64>,
}

impl Pagination {
    /// The `after` cursor of the following page (for the `Link: <...>; rel="next"` header),
    /// when the page has a size; only use it when more entities exist.
    pub fn next_after(&self) -> Option<AfterCursor> {
        let limit = self.limit?;
        Some(AfterCursor {
            limit: Some(limit),
            offset: Some(self.offset.unwrap_or(0).saturating_add(limit)),
        })
    }
}

/// The legacy `after` cursor of `GET /entities`: base64 JSON `{"limit":n,"offset":m}`, whose
/// values override the request's `limit`/`offset`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct AfterCursor {
    /// Page size carried by the cursor.
    pub limit: Option<u64>,
    /// Offset carried by the cursor.
    pub offset: Option<u64>,
}

impl AfterCursor {
    /// Base64 of `{"limit":..,"offset":..}` (absent values omitted).
    pub fn encode(&self) -> String {
        let mut object = Map::new();
        if let Some(limit) = self.limit {
            object.insert("limit".to_owned(), Value::from(limit));
        }
        if let Some(offset) = self.offset {
            object.insert("offset".to_owned(), Value::from(offset));
        }
        STANDARD.encode(Value::Object(object).to_string())
    }

    /// Decodes an `after` cursor with Backstage's error messages. JSON that is not an object
    /// carries no values (as in Backstage, where reading `.limit` of a number is `undefined`).
    pub fn decode(encoded: &str) -> Result<AfterCursor, QueryError> {
        let bytes = decode_base64_lenient(encoded);
        let value: Value = serde_json::from_slice(&bytes)
            .map_err(|_| QueryError::input("Malformed after cursor, could not be parsed"))?;
        let read = |name: &str, message: &str| match value.get(name) {
            None => Ok(None),
            Some(number) => whole_number(number)
                .map(Some)
                .ok_or_else(|| QueryError::input(message)),
        };
        Ok(AfterCursor {
            // (sic) Backstage's wording.
            limit: read("limit", "Malformed after cursor, limit was not an number")?,
            offset: read("offset", "Malformed after cursor, offset was not a number")?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::filter::parse_filter_params;
    use crate::search::build_search_rows;
    use serde_json::json;

    fn sample_cursor() -> Cursor {
        Cursor {
            order_fields: vec![OrderField {
                field: "metadata.name".to_owned(),
                order: SortOrder::Desc,
            }],
            order_field_values: vec![Some("petstore".to_owned()), Some("uid-9".to_owned())],
            filter: parse_filter_params(&[
                "kind=component,spec.type".to_owned(),
                "kind=api".to_owned(),
            ])
            .unwrap(),
            full_text: Some(FullTextFilter {
                term: "pet".to_owned(),
                fields: Some(vec!["metadata.name".to_owned()]),
            }),
            is_prev: false,
            total_items: Some(42),
            first_sort_field_values: Some(vec![Some("zebra".to_owned()), None]),
        }
    }

    #[test]
    fn round_trip() {
        let cursor = sample_cursor();
        assert_eq!(Cursor::decode(&cursor.encode()).unwrap(), cursor);

        let minimal = Cursor::initial(None, vec![], None);
        assert_eq!(Cursor::decode(&minimal.encode()).unwrap(), minimal);

        let prefix = Cursor {
            filter: Some(EntityFilter::HasPrefix {
                key: "metadata.name".to_owned(),
                prefix: "p".to_owned(),
            }),
            ..sample_cursor()
        };
        assert_eq!(Cursor::decode(&prefix.encode()).unwrap(), prefix);

        // Filters from `filter=` keep working even with keys a predicate would refuse.
        let odd = Cursor {
            filter: parse_filter_params(&["a\nb=c".to_owned()]).unwrap(),
            ..Cursor::default()
        };
        assert_eq!(Cursor::decode(&odd.encode()).unwrap(), odd);
    }

    #[test]
    fn encoded_json_has_backstage_shape() {
        let json: Value =
            serde_json::from_slice(&STANDARD.decode(sample_cursor().encode()).unwrap()).unwrap();
        assert_eq!(
            json,
            json!({
                "orderFields": [{ "field": "metadata.name", "order": "desc" }],
                "orderFieldValues": ["petstore", "uid-9"],
                "isPrevious": false,
                "filter": { "anyOf": [
                    { "allOf": [ { "key": "kind", "values": ["component"] }, { "key": "spec.type" } ] },
                    { "key": "kind", "values": ["api"] }
                ] },
                "fullTextFilter": { "term": "pet", "fields": ["metadata.name"] },
                "firstSortFieldValues": ["zebra", null],
                "totalItems": 42
            })
        );
        let prefix = Cursor {
            filter: Some(EntityFilter::HasPrefix {
                key: "k".to_owned(),
                prefix: "p".to_owned(),
            }),
            ..Cursor::default()
        };
        let json: Value =
            serde_json::from_slice(&STANDARD.decode(prefix.encode()).unwrap()).unwrap();
        assert_eq!(json["query"], json!({ "k": { "$hasPrefix": "p" } }));
        assert!(json.get("filter").is_none());
    }

    #[test]
    fn decodes_backstage_cursors_with_query_and_filter() {
        let json = json!({
            "orderFields": [],
            "isPrevious": false,
            "query": { "kind": "Component" },
            "filter": { "key": "spec.type", "values": ["service"] },
            "orderFieldValues": ["uid-1"],
            "firstSortFieldValues": ["uid-0"],
            "totalItems": 3
        });
        let cursor = Cursor::decode(&STANDARD.encode(json.to_string())).unwrap();
        assert_eq!(
            cursor.filter,
            Some(EntityFilter::All(vec![
                EntityFilter::equals("spec.type", "service"),
                EntityFilter::equals("kind", "component"),
            ]))
        );
        assert_eq!(cursor.order_field_values, vec![Some("uid-1".to_owned())]);
        assert_eq!(cursor.total_items, Some(3));
    }

    #[test]
    fn lenient_base64() {
        let cursor = sample_cursor();
        let encoded = cursor.encode();
        let url_safe = encoded.replace('+', "-").replace('/', "_");
        assert_eq!(Cursor::decode(&url_safe).unwrap(), cursor);
        let unpadded = encoded.trim_end_matches('=');
        assert_eq!(Cursor::decode(unpadded).unwrap(), cursor);
        let spaced = encoded.replace('+', " ");
        assert_eq!(Cursor::decode(&spaced).unwrap(), cursor);
    }

    #[test]
    fn garbage_cursors_are_input_errors() {
        let bad_json = [
            json!(null),
            json!([]),
            json!({}),
            json!({ "orderFields": [], "orderFieldValues": [] }),
            json!({ "orderFields": [{ "field": "a", "order": "up" }], "orderFieldValues": [], "isPrevious": false }),
            json!({ "orderFields": [{ "field": "a" }], "orderFieldValues": [], "isPrevious": false }),
            json!({ "orderFields": [], "orderFieldValues": [1], "isPrevious": false }),
            json!({ "orderFields": [], "orderFieldValues": [], "isPrevious": "no" }),
            json!({ "orderFields": [], "orderFieldValues": [], "isPrevious": false, "totalItems": -1 }),
            json!({ "orderFields": [], "orderFieldValues": [], "isPrevious": false, "totalItems": 1.5 }),
            json!({ "orderFields": [], "orderFieldValues": [], "isPrevious": false, "totalItems": null }),
            json!({ "orderFields": [], "orderFieldValues": [], "isPrevious": false, "query": "x" }),
            json!({ "orderFields": [], "orderFieldValues": [], "isPrevious": false, "filter": { "nope": 1 } }),
            json!({ "orderFields": [], "orderFieldValues": [], "isPrevious": false, "fullTextFilter": { "fields": [] } }),
            json!({ "orderFields": [], "orderFieldValues": [], "isPrevious": false, "firstSortFieldValues": "x" }),
        ];
        for value in bad_json {
            let error = Cursor::decode(&STANDARD.encode(value.to_string())).unwrap_err();
            assert!(
                error.message().starts_with("Malformed cursor: "),
                "{value}: {error}"
            );
        }
        for garbage in [
            "",
            "!!!!",
            "a",
            "abc",
            "e30",
            "////",
            "\u{0}\u{1}",
            "😀😀😀",
            "eyJ",
        ] {
            let error = Cursor::decode(garbage).unwrap_err();
            assert!(
                error.message().starts_with("Malformed cursor: "),
                "{garbage:?}"
            );
        }
        // Invalid UTF-8 inside valid base64.
        assert!(Cursor::decode(&STANDARD.encode([0xff_u8, 0xfe, b'{'])).is_err());
    }

    #[test]
    fn page_cursors_follow_backstage() {
        let sort = OrderField {
            field: "metadata.name".to_owned(),
            order: SortOrder::Asc,
        };
        let initial = Cursor::initial(None, vec![sort], None);
        assert!(initial.is_initial());
        let first = initial.row_sort_values(Some("a"), "u1");
        let last = initial.row_sort_values(Some("c"), "u3");
        let page = initial.page_cursors(Some(&first), Some(&last), true, 10);
        assert!(page.prev.is_none(), "no prevCursor on the first page");
        let next = page.next.unwrap();
        assert_eq!(next.order_field_values, last);
        assert_eq!(next.first_sort_field_values, Some(first.clone()));
        assert_eq!(next.total_items, Some(10));
        assert!(!next.is_prev);

        // Second page: has a prev cursor pointing at its first row; last page has no next.
        let second_first = next.row_sort_values(Some("d"), "u4");
        let page2 = next.page_cursors(Some(&second_first), Some(&second_first), false, 10);
        assert!(page2.next.is_none());
        let prev = page2.prev.unwrap();
        assert!(prev.is_prev);
        assert_eq!(prev.order_field_values, second_first);
        assert_eq!(prev.first_sort_field_values, Some(first.clone()));
        assert_eq!(prev.fetch_order(), SortOrder::Desc);

        // Paging back to the very first row: no prev cursor.
        let page3 = prev.page_cursors(Some(&first), Some(&last), true, 10);
        assert!(page3.prev.is_none());
        assert!(page3.next.is_some());

        // Empty page on an initial request: nulls, like Backstage.
        let empty = initial.page_cursors(None, None, true, 0);
        assert_eq!(empty.next.unwrap().order_field_values, vec![None, None]);
    }

    #[test]
    fn admits_rows_beyond_the_boundary() {
        let mut cursor = Cursor {
            order_fields: vec![OrderField {
                field: "metadata.name".to_owned(),
                order: SortOrder::Asc,
            }],
            order_field_values: vec![Some("m".to_owned()), Some("u5".to_owned())],
            ..Cursor::default()
        };
        assert!(cursor.admits(Some("n"), "u1"));
        assert!(cursor.admits(Some("m"), "u6"));
        assert!(!cursor.admits(Some("m"), "u5"));
        assert!(!cursor.admits(Some("a"), "u9"));
        assert!(!cursor.admits(None, "u9"));
        cursor.is_prev = true;
        assert!(cursor.admits(Some("a"), "u9"));
        assert!(cursor.admits(Some("m"), "u4"));
        assert!(!cursor.admits(Some("n"), "u1"));
        cursor.order_fields[0].order = SortOrder::Desc;
        assert!(cursor.admits(Some("n"), "u1"));
        cursor.is_prev = false;
        assert!(cursor.admits(Some("a"), "u1"));

        let by_uid = Cursor {
            order_field_values: vec![Some("u5".to_owned())],
            ..Cursor::default()
        };
        assert!(by_uid.admits(None, "u6"));
        assert!(!by_uid.admits(None, "u5"));
        assert!(Cursor::default().admits(None, "anything"));
    }

    #[test]
    fn full_text_matching() {
        let rows = build_search_rows(&json!({
            "kind": "Component",
            "metadata": { "name": "Petstore_Api", "namespace": "default", "uid": "abc-123", "title": "The Pet Store" }
        }))
        .unwrap();
        let sort = OrderField {
            field: "metadata.name".to_owned(),
            order: SortOrder::Asc,
        };
        let filter = |term: &str, fields: Option<&[&str]>| FullTextFilter {
            term: term.to_owned(),
            fields: fields.map(|f| f.iter().map(|s| (*s).to_owned()).collect()),
        };
        assert!(filter("  ", None).matches(None, &rows));
        assert!(filter(" STORE ", None).matches(Some(&sort), &rows));
        assert!(
            !filter("store", None).matches(None, &rows),
            "default field is metadata.uid"
        );
        assert!(filter("c-1", None).matches(None, &rows));
        assert!(
            filter("pet store", Some(&["metadata.title", "Metadata.Name"])).matches(None, &rows)
        );
        assert!(!filter("pet store", Some(&["metadata.name"])).matches(None, &rows));
        // LIKE wildcards are not escaped, as in Backstage.
        assert!(filter("p_tstore", Some(&["metadata.name"])).matches(None, &rows));
        assert!(filter("pet%api", Some(&["metadata.name"])).matches(None, &rows));
        assert!(filter("store\\_api", Some(&["metadata.name"])).matches(None, &rows));
        assert!(!filter("storex_api", Some(&["metadata.name"])).matches(None, &rows));
        assert_eq!(
            filter("x", None).effective_fields(Some(&sort)),
            vec!["metadata.name".to_owned()]
        );
    }

    #[test]
    fn like_matcher_edge_cases() {
        let check = |value: &str, pattern: &str| like_matches(value, &like_pattern(pattern));
        assert!(check("", "%"));
        assert!(check("", "%%"));
        assert!(!check("", "_"));
        assert!(check("abc", "a%c"));
        assert!(check("abcbc", "%bc"));
        assert!(!check("abcbd", "%bc"));
        assert!(check("a%b", "a\\%b"));
        assert!(!check("axb", "a\\%b"));
        assert!(check("ab\\", "ab\\"));
    }

    #[test]
    fn after_cursor_round_trip_and_errors() {
        let cursor = AfterCursor {
            limit: Some(10),
            offset: Some(30),
        };
        assert_eq!(
            STANDARD.decode(cursor.encode()).unwrap(),
            br#"{"limit":10,"offset":30}"#.to_vec()
        );
        assert_eq!(AfterCursor::decode(&cursor.encode()).unwrap(), cursor);
        assert_eq!(
            AfterCursor::decode(&STANDARD.encode("5")).unwrap(),
            AfterCursor::default()
        );
        assert_eq!(
            AfterCursor::decode(&STANDARD.encode(r#"{"offset":2.0}"#)).unwrap(),
            AfterCursor {
                limit: None,
                offset: Some(2)
            }
        );
        assert_eq!(
            AfterCursor::decode("not base64 json")
                .unwrap_err()
                .message(),
            "Malformed after cursor, could not be parsed"
        );
        assert_eq!(
            AfterCursor::decode(&STANDARD.encode(r#"{"limit":"5"}"#))
                .unwrap_err()
                .message(),
            "Malformed after cursor, limit was not an number"
        );
        assert_eq!(
            AfterCursor::decode(&STANDARD.encode(r#"{"offset":1.5}"#))
                .unwrap_err()
                .message(),
            "Malformed after cursor, offset was not a number"
        );
        let pagination = Pagination {
            limit: Some(10),
            offset: Some(5),
        };
        assert_eq!(
            pagination.next_after(),
            Some(AfterCursor {
                limit: Some(10),
                offset: Some(15)
            })
        );
        assert_eq!(Pagination::default().next_after(), None);
    }
}
