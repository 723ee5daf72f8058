//! Portico's catalog query language, as Backstage's catalog backend (4.0.x) speaks it: the search
//! rows an entity is indexed under, `filter` strings and `query` predicates, `fields`
//! projection, ordering, by-query cursors and the request parameters of `GET /entities`,
//! `/entities/by-query`, `/entities/by-refs` and `/entity-facets`.
//!
//! Pure: no I/O, no database, no HTTP framework. Every parse failure is a [`QueryError`], which
//! the HTTP layer answers with a 400 `InputError`.

mod cursor;
mod error;
mod fields;
mod filter;
mod js;
mod order;
mod predicate;
mod request;
mod search;

pub use cursor::{AfterCursor, Cursor, FullTextFilter, PageCursors, Pagination};
pub use error::QueryError;
pub use fields::{parse_fields_params, parse_fields_with_extra, project_fields};
pub use filter::{matches, parse_filter_params, EntityFilter};
pub use order::{parse_order_field_params, parse_order_params, OrderField, SortOrder};
pub use predicate::parse_predicate_query;
pub use request::{
    parse_by_query_body, parse_by_query_params, parse_by_refs_request, parse_facet_params,
    parse_facets_body, parse_list_params, reject_unknown_params, ByQueryRequest, ByRefsRequest,
    FacetRequest, ListRequest, TotalItemsMode, BY_QUERY_PARAMS, DEFAULT_BY_QUERY_LIMIT,
    FACET_PARAMS, LIST_PARAMS,
};
pub use search::{build_search_rows, SearchRow, MAX_KEY_LENGTH, MAX_VALUE_LENGTH};
