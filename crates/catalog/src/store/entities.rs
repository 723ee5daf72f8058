//! Reads of final entities for the API: by ref, by uid, filtered and ordered pages, counts
//! and facets, built as SQL text with bound parameters because their shape is only known at
//! run time.
//!
//! A listing is planned before it is written: the most selective condition that the search
//! index can enumerate (a key with values, counted up to a cap) drives the query and every
//! other condition is checked per candidate with a correlated `EXISTS` on the search rows;
//! without a selective condition, an ordered page walks the sort key's index (or the
//! entity ids) and stops at the page's end. Neither way reads the whole catalog to return a
//! page of it.

use crate::error::CatalogResult;
use diesel::prelude::*;
use diesel::sql_types::{BigInt, Nullable, Text};
use portico_query::EntityFilter;
use portico_store::schema::{facet_counts as fc, final_entities as fe};
use portico_store::{with_conn, Backend, DbConn};

#[derive(Debug, Clone, QueryableByName)]
pub struct FinalRow {
    #[diesel(sql_type = Text)]
    pub entity_id: String,
    #[diesel(sql_type = Text)]
    pub final_entity: String,
    #[diesel(sql_type = Nullable<Text>)]
    pub sort_value: Option<String>,
}

#[derive(Debug, Clone, QueryableByName)]
struct CountRow {
    #[diesel(sql_type = BigInt)]
    count: i64,
}

#[derive(Debug, Clone, QueryableByName)]
struct FacetRow {
    #[diesel(sql_type = Text)]
    value: String,
    #[diesel(sql_type = BigInt)]
    count: i64,
}

pub fn final_entity_by_ref(
    conn: &mut DbConn<'_>,
    entity_ref: &str,
) -> CatalogResult<Option<String>> {
    Ok(with_conn!(conn, c => fe::table
        .filter(fe::entity_ref.eq(entity_ref))
        .select(fe::final_entity)
        .first(*c)
        .optional())?)
}

pub fn final_entity_by_uid(
    conn: &mut DbConn<'_>,
    uid: &str,
) -> CatalogResult<Option<(String, String)>> {
    Ok(with_conn!(conn, c => fe::table
        .filter(fe::entity_id.eq(uid))
        .select((fe::entity_ref, fe::final_entity))
        .first(*c)
        .optional())?)
}

pub fn final_entities_by_refs(
    conn: &mut DbConn<'_>,
    refs: &[String],
) -> CatalogResult<Vec<(String, String, String)>> {
    let mut out = Vec::new();
    for chunk in refs.chunks(500) {
        let rows: Vec<(String, String, String)> = with_conn!(conn, c => fe::table
            .filter(fe::entity_ref.eq_any(chunk))
            .select((fe::entity_ref, fe::entity_id, fe::final_entity))
            .load(*c))?;
        out.extend(rows);
    }
    Ok(out)
}

/// SQL text plus its bound values, with the placeholder style of one backend.
pub struct SqlBuilder {
    backend: Backend,
    alias: usize,
    pub sql: String,
    pub binds: Vec<BindValue>,
}

pub enum BindValue {
    Text(String),
    Int(i64),
}

impl SqlBuilder {
    pub fn new(backend: Backend) -> Self {
        Self {
            backend,
            alias: 0,
            sql: String::new(),
            binds: Vec::new(),
        }
    }
    pub fn push(&mut self, sql: &str) -> &mut Self {
        self.sql.push_str(sql);
        self
    }
    pub fn bind_text(&mut self, value: &str) -> &mut Self {
        self.binds.push(BindValue::Text(value.to_string()));
        self.placeholder();
        self
    }
    pub fn bind_int(&mut self, value: i64) -> &mut Self {
        self.binds.push(BindValue::Int(value));
        self.placeholder();
        self
    }
    /// Appends `(v1, v2, …)`, each value bound.
    pub fn bind_list<S: AsRef<str>>(&mut self, values: impl IntoIterator<Item = S>) -> &mut Self {
        self.push("(");
        for (i, v) in values.into_iter().enumerate() {
            if i > 0 {
                self.push(", ");
            }
            self.bind_text(v.as_ref());
        }
        self.push(")")
    }
    fn placeholder(&mut self) {
        match self.backend {
            Backend::Sqlite => self.sql.push('?'),
            Backend::Postgres => {
                let n = self.binds.len();
                self.sql.push_str(&format!("${n}"));
            }
        }
    }

    /// Appends a `SELECT` of the entity ids matching `filter`. The enumerable filters that
    /// drive listings (see [`is_enumerable`]) are read off the search index alone; any other
    /// filter is tested entity by entity.
    fn push_id_set(&mut self, filter: &EntityFilter) -> &mut Self {
        match filter {
            EntityFilter::Any(items) if is_enumerable(filter) => {
                for (i, item) in items.iter().enumerate() {
                    if i > 0 {
                        self.push(" UNION ");
                    }
                    self.push_wrapped_id_set(item);
                }
            }
            EntityFilter::Key {
                key,
                values: Some(values),
            } => {
                self.push_key_scan();
                self.push(" WHERE key = ");
                self.bind_text(key);
                if values.is_empty() {
                    self.push(" AND 1=0");
                } else {
                    self.push(" AND value IN ");
                    self.bind_list(values);
                }
            }
            EntityFilter::HasPrefix { key, prefix } => {
                self.push_key_scan();
                self.push(" WHERE key = ");
                self.bind_text(key);
                self.push(" AND value LIKE ");
                self.bind_text(&format!("{}%", escape_like(prefix)));
                self.push(" ESCAPE '\\'");
            }
            other => {
                self.push("SELECT fe.entity_id AS entity_id FROM final_entities fe WHERE ");
                self.push_match(other, "fe.entity_id");
            }
        }
        self
    }

    /// An id set usable as one operand of a compound SELECT.
    fn push_wrapped_id_set(&mut self, filter: &EntityFilter) {
        self.alias += 1;
        let alias = self.alias;
        self.push("SELECT entity_id FROM (");
        self.push_id_set(filter);
        self.push(&format!(") AS ids{alias}"));
    }

    /// Appends a `SELECT` of the ids whose value of one of `fields` contains `term`
    /// (case-insensitively).
    fn push_full_text_id_set(&mut self, term: &str, fields: &[String]) -> &mut Self {
        let term = term.to_lowercase();
        let fields: Vec<String> = fields.iter().map(|f| f.to_lowercase()).collect();
        if uses_full_text_index(&term, &fields) {
            return self.push_indexed_full_text_id_set(&term, &fields);
        }
        self.push_key_scan();
        self.push(" WHERE key IN ");
        self.bind_list(&fields);
        self.push(" AND ");
        self.push_contains("value", &term);
        self
    }

    /// [`Self::push_full_text_id_set`] through the trigram index of the indexed keys (see
    /// [`uses_full_text_index`]); `term` and `fields` are lower-cased.
    fn push_indexed_full_text_id_set(&mut self, term: &str, fields: &[String]) -> &mut Self {
        // The keys are written into the statement, not bound: PostgreSQL uses a partial
        // index only when it can prove the query's keys are among the index's.
        let keys = fields
            .iter()
            .map(|f| format!("'{f}'"))
            .collect::<Vec<_>>()
            .join(", ");
        match self.backend {
            Backend::Sqlite => {
                // A phrase of trigrams matches where the term is a substring; the value is
                // tested again because the index folds case and other keys share it.
                self.push("SELECT s.entity_id AS entity_id FROM search_text t CROSS JOIN search s WHERE t.search_text MATCH ");
                self.bind_text(&format!("\"{}\"", term.replace('"', "\"\"")));
                self.push(&format!(" AND s.id = t.rowid AND s.key IN ({keys}) AND "));
                self.push_contains("s.value", term);
            }
            Backend::Postgres => {
                self.push(&format!(
                    "SELECT entity_id FROM search WHERE key IN ({keys}) AND value LIKE "
                ));
                self.bind_text(&format!("%{}%", escape_like(term)));
                self.push(" ESCAPE '\\'");
            }
        }
        self
    }

    /// Appends `<column> contains <text>`, a plain substring test: values and terms are both
    /// lower-cased already, and it costs less per row than `LIKE '%…%'`.
    fn push_contains(&mut self, column: &str, text: &str) {
        match self.backend {
            Backend::Sqlite => self.push(&format!("instr({column}, ")),
            Backend::Postgres => self.push(&format!("strpos({column}, ")),
        };
        self.bind_text(text);
        self.push(") > 0");
    }

    /// `SELECT entity_id FROM search`, read through the (key, value) index: SQLite's planner,
    /// without statistics, may otherwise pick the per-entity index and read it whole.
    fn push_key_scan(&mut self) {
        self.push(match self.backend {
            Backend::Sqlite => "SELECT entity_id FROM search INDEXED BY search_key_value_idx",
            Backend::Postgres => "SELECT entity_id FROM search",
        });
    }

    pub fn load<T>(&self, conn: &mut DbConn<'_>) -> CatalogResult<Vec<T>>
    where
        T: QueryableByName<diesel::sqlite::Sqlite> + QueryableByName<diesel::pg::Pg> + 'static,
    {
        let rows = with_conn!(conn, c => self.bound().load::<T>(*c))?;
        Ok(rows)
    }

    /// Runs a statement that returns no rows; returns how many rows it changed.
    pub fn execute(&self, conn: &mut DbConn<'_>) -> CatalogResult<usize> {
        Ok(with_conn!(conn, c => self.bound().execute(*c))?)
    }

    /// The statement with its values bound, for backend `DB`.
    fn bound<DB>(
        &self,
    ) -> diesel::query_builder::BoxedSqlQuery<'_, DB, diesel::query_builder::SqlQuery>
    where
        DB: diesel::backend::Backend
            + diesel::sql_types::HasSqlType<Text>
            + diesel::sql_types::HasSqlType<BigInt>,
        String: diesel::serialize::ToSql<Text, DB>,
        i64: diesel::serialize::ToSql<BigInt, DB>,
    {
        let mut q = diesel::sql_query(self.sql.clone()).into_boxed();
        for b in &self.binds {
            q = match b {
                BindValue::Text(t) => q.bind::<Text, _>(t.clone()),
                BindValue::Int(i) => q.bind::<BigInt, _>(*i),
            };
        }
        q
    }
}

/// Whether a full-text search goes through the trigram index: every field is one of
/// [`FULL_TEXT_INDEXED_KEYS`](crate::store::FULL_TEXT_INDEXED_KEYS) and the term is at least
/// one trigram long (shorter terms would match every indexed value).
fn uses_full_text_index(term: &str, fields: &[String]) -> bool {
    term.chars().count() >= 3
        && !fields.is_empty()
        && fields
            .iter()
            .all(|f| crate::store::FULL_TEXT_INDEXED_KEYS.contains(&f.as_str()))
}

/// Escapes `LIKE` wildcards so a term matches literally (with `ESCAPE '\'`).
fn escape_like(text: &str) -> String {
    text.replace('\\', "\\\\")
        .replace('%', "\\%")
        .replace('_', "\\_")
}

/// How to order a listing: by one search key (entities lacking it left out), ties by uid.
#[derive(Debug, Clone)]
pub struct SortSpec {
    pub key: Option<String>,
    pub descending: bool,
}

/// Where a keyset page starts: after (or, reversed, before) this sort value and uid.
#[derive(Debug, Clone)]
pub struct Boundary {
    pub sort_value: Option<String>,
    pub entity_id: String,
}

/// A condition of a listing, checked against an entity's search rows.
#[derive(Debug, Clone, Copy)]
enum Condition<'a> {
    Filter(&'a EntityFilter),
    FullText(&'a str, &'a [String]),
    HasKey(&'a str),
}

/// Up to how many matches a condition is counted when planning, and the most that may drive
/// an ordered page (more than this, and walking the sort key's index is cheaper).
const DRIVER_ESTIMATE_CAP: i64 = 5_000;

/// Keys every final entity has a search row for: a sort on them leaves no entity out.
fn is_universal_key(key: &str) -> bool {
    matches!(
        key,
        "kind" | "apiversion" | "metadata.name" | "metadata.namespace" | "metadata.uid"
    )
}

/// The conditions of a listing, with nested `All`s flattened so each can be weighed alone.
fn conditions<'a>(
    filter: Option<&'a EntityFilter>,
    full_text: Option<(&'a str, &'a [String])>,
    sort_key: Option<&'a str>,
) -> Vec<Condition<'a>> {
    fn flatten<'a>(f: &'a EntityFilter, out: &mut Vec<Condition<'a>>) {
        match f {
            EntityFilter::All(items) => items.iter().for_each(|i| flatten(i, out)),
            other => out.push(Condition::Filter(other)),
        }
    }
    let mut out = Vec::new();
    if let Some(f) = filter {
        flatten(f, &mut out);
    }
    if let Some((term, fields)) = full_text {
        if !term.is_empty() && !fields.is_empty() {
            out.push(Condition::FullText(term, fields));
        }
    }
    if let Some(key) = sort_key.filter(|k| !is_universal_key(k)) {
        out.push(Condition::HasKey(key));
    }
    out
}

/// Whether the search index can list a filter's entities directly (a key with values, a
/// prefix, or a union of those).
fn is_enumerable(filter: &EntityFilter) -> bool {
    match filter {
        EntityFilter::Key { values, .. } => values.is_some(),
        EntityFilter::HasPrefix { .. } => true,
        EntityFilter::Any(items) => !items.is_empty() && items.iter().all(is_enumerable),
        EntityFilter::All(_) | EntityFilter::Not(_) => false,
    }
}

/// How a listing reaches its candidate entities.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Access {
    /// The ids of the condition at this index, from the search index; the rest are probed.
    Driver(usize),
    /// The sort key's index, in order, until the page is full.
    SortIndex,
    /// Every final entity in id order, until the page is full.
    EntityIds,
}

/// Plans a listing. A selective filter drives (the enumerable filter with the fewest matches,
/// counted up to a cap); else full text drives, as its scan reads each row of its keys once;
/// else a page walks the sort index or the ids and stops when full, and a count scans the
/// filter's ids.
fn plan_access(
    conn: &mut DbConn<'_>,
    conditions: &[Condition<'_>],
    sorted: bool,
    counting: bool,
    cap: i64,
) -> CatalogResult<Access> {
    let mut best: Option<(usize, i64)> = None;
    for (i, c) in conditions.iter().enumerate() {
        let Condition::Filter(f) = c else { continue };
        if !is_enumerable(f) {
            continue;
        }
        let mut b = SqlBuilder::new(conn.backend());
        b.push("SELECT COUNT(*) AS count FROM (");
        b.push_id_set(f);
        b.push(" LIMIT ");
        b.bind_int(cap.saturating_add(1));
        b.push(") AS capped");
        let rows: Vec<CountRow> = b.load(conn)?;
        let n = rows.first().map(|r| r.count).unwrap_or(0);
        if best.is_none_or(|(_, m)| n < m) {
            best = Some((i, n));
        }
        if n == 0 {
            break;
        }
    }
    if let Some((i, n)) = best {
        if n <= cap {
            return Ok(Access::Driver(i));
        }
    }
    if let Some(i) = conditions
        .iter()
        .position(|c| matches!(c, Condition::FullText(..)))
    {
        return Ok(Access::Driver(i));
    }
    Ok(match best {
        Some((i, _)) if counting => Access::Driver(i),
        _ if sorted => Access::SortIndex,
        _ => Access::EntityIds,
    })
}

impl SqlBuilder {
    /// Appends a boolean expression: the entity whose id is `id` satisfies `condition`.
    fn push_condition(&mut self, condition: Condition<'_>, id: &str) {
        match condition {
            Condition::Filter(f) => self.push_match(f, id),
            Condition::FullText(term, fields) => {
                let alias = self.push_probe(id);
                self.push(&format!(" AND {alias}.key IN "));
                self.bind_list(fields.iter().map(|f| f.to_lowercase()));
                self.push(" AND ");
                self.push_contains(&format!("{alias}.value"), &term.to_lowercase());
                self.push(")");
            }
            Condition::HasKey(key) => {
                let alias = self.push_probe(id);
                self.push(&format!(" AND {alias}.key = "));
                self.bind_text(key);
                self.push(")");
            }
        }
    }

    /// Appends a boolean expression: the entity whose id is `id` matches `filter`, each key
    /// test an indexed probe of that entity's search rows.
    fn push_match(&mut self, filter: &EntityFilter, id: &str) {
        match filter {
            EntityFilter::All(items) | EntityFilter::Any(items) if items.is_empty() => {
                self.push(if matches!(filter, EntityFilter::All(_)) {
                    "1=1"
                } else {
                    "1=0"
                });
            }
            EntityFilter::All(items) | EntityFilter::Any(items) => {
                let op = if matches!(filter, EntityFilter::All(_)) {
                    " AND "
                } else {
                    " OR "
                };
                self.push("(");
                for (i, item) in items.iter().enumerate() {
                    if i > 0 {
                        self.push(op);
                    }
                    self.push_match(item, id);
                }
                self.push(")");
            }
            EntityFilter::Not(inner) => {
                self.push("NOT (");
                self.push_match(inner, id);
                self.push(")");
            }
            EntityFilter::Key {
                values: Some(values),
                ..
            } if values.is_empty() => {
                self.push("1=0");
            }
            EntityFilter::Key { key, values } => {
                let alias = self.push_probe(id);
                self.push(&format!(" AND {alias}.key = "));
                self.bind_text(key);
                if let Some(values) = values {
                    self.push(&format!(" AND {alias}.value IN "));
                    self.bind_list(values);
                }
                self.push(")");
            }
            EntityFilter::HasPrefix { key, prefix } => {
                let alias = self.push_probe(id);
                self.push(&format!(" AND {alias}.key = "));
                self.bind_text(key);
                self.push(&format!(" AND {alias}.value LIKE "));
                self.bind_text(&format!("{}%", escape_like(prefix)));
                self.push(" ESCAPE '\\')");
            }
        }
    }

    /// Opens `EXISTS (SELECT 1 FROM search cN WHERE cN.entity_id = <id>` and returns `cN`.
    /// On SQLite the (entity_id, key, value) index is named: without statistics its planner
    /// may otherwise scan a whole key's rows for every candidate.
    fn push_probe(&mut self, id: &str) -> String {
        self.alias += 1;
        let alias = format!("c{}", self.alias);
        let hint = match self.backend {
            Backend::Sqlite => " INDEXED BY search_entity_key_value_idx",
            Backend::Postgres => "",
        };
        self.push(&format!(
            "EXISTS (SELECT 1 FROM search {alias}{hint} WHERE {alias}.entity_id = {id}"
        ));
        alias
    }

    /// Appends ` AND <condition>` for every condition but `skip`.
    fn push_other_conditions(
        &mut self,
        conditions: &[Condition<'_>],
        skip: Option<usize>,
        id: &str,
    ) {
        for (i, c) in conditions.iter().enumerate() {
            if Some(i) != skip {
                self.push(" AND ");
                self.push_condition(*c, id);
            }
        }
    }

    /// Appends the keyset condition of a page that starts after (`cmp` `>`) or before (`<`)
    /// the row with sort value `value` (`s.value`) and id `id`, ids in `id_column`.
    fn push_after(&mut self, value: Option<&str>, id_column: &str, id: &str, cmp: &str) {
        if let Some(v) = value {
            self.push(&format!(" AND (s.value {cmp} "));
            self.bind_text(v);
            self.push(" OR (s.value = ");
            self.bind_text(v);
            self.push(&format!(" AND {id_column} {cmp} "));
            self.bind_text(id);
            self.push("))");
        } else {
            self.push(&format!(" AND {id_column} {cmp} "));
            self.bind_text(id);
        }
    }

    fn push_limit_offset(&mut self, limit: i64, offset: i64) {
        self.push(" LIMIT ");
        self.bind_int(limit);
        if offset > 0 {
            self.push(" OFFSET ");
            self.bind_int(offset);
        }
    }

    /// Appends the driving condition's ids as a derived table `d`, each id once.
    fn push_driver(&mut self, condition: Condition<'_>) {
        // One value of one key lists each entity once (search rows are deduplicated).
        let single = matches!(
            condition,
            Condition::Filter(EntityFilter::Key { values: Some(v), .. }) if v.len() == 1
        );
        self.push(if single {
            "(SELECT entity_id FROM ("
        } else {
            "(SELECT DISTINCT entity_id FROM ("
        });
        match condition {
            Condition::Filter(f) => {
                self.push_id_set(f);
            }
            Condition::FullText(term, fields) => {
                self.push_full_text_id_set(term, fields);
            }
            Condition::HasKey(key) => {
                self.push_key_scan();
                self.push(" WHERE key = ");
                self.bind_text(key);
            }
        }
        self.push(") AS driver) d");
    }
}

/// One page of final entities matching `filter` (and full text), in `sort` order, starting
/// strictly after `after` (or before it when `backwards`, returned in forward order).
///
/// With a sort key, entities lacking that key are left out, as Backstage's by-query does.
#[expect(
    clippy::too_many_arguments,
    reason = "one query's parameters, each optional"
)]
pub fn page_final_entities(
    conn: &mut DbConn<'_>,
    filter: Option<&EntityFilter>,
    full_text: Option<(&str, &[String])>,
    sort: &SortSpec,
    boundary: Option<&Boundary>,
    backwards: bool,
    limit: i64,
    offset: i64,
) -> CatalogResult<Vec<FinalRow>> {
    page_planned(
        conn,
        filter,
        full_text,
        sort,
        boundary,
        backwards,
        limit,
        offset,
        DRIVER_ESTIMATE_CAP,
    )
}

/// [`page_final_entities`] with the most matches a driving filter may have (tests force
/// each plan with it).
#[expect(
    clippy::too_many_arguments,
    reason = "one query's parameters, each optional"
)]
fn page_planned(
    conn: &mut DbConn<'_>,
    filter: Option<&EntityFilter>,
    full_text: Option<(&str, &[String])>,
    sort: &SortSpec,
    boundary: Option<&Boundary>,
    backwards: bool,
    limit: i64,
    offset: i64,
    cap: i64,
) -> CatalogResult<Vec<FinalRow>> {
    let sort_key = sort.key.as_deref();
    let conds = conditions(filter, full_text, None);
    let access = plan_access(conn, &conds, sort_key.is_some(), false, cap)?;
    if matches!(access, Access::SortIndex | Access::EntityIds) {
        // Unsorted pages are in uid order, which is the order of `metadata.uid`'s values.
        let walk_key = sort_key.unwrap_or("metadata.uid");
        if let (Some(key), Some((i, kind))) = (
            crate::store::KIND_SORT_KEYS
                .iter()
                .find(|k| **k == walk_key),
            single_kind(&conds),
        ) {
            return page_by_kind_sort_index(
                conn, &conds, i, kind, key, sort, boundary, backwards, limit, offset,
            );
        }
    }
    // The page's ids (and sort values) first; the entities' text is read for those alone.
    // `CROSS JOIN` fixes SQLite's join order to the one written; PostgreSQL plans it freely.
    let mut b = SqlBuilder::new(conn.backend());
    let sort_value = if sort_key.is_some() {
        "s.value"
    } else {
        "NULL"
    };
    let (skip, id) = match access {
        Access::Driver(i) => {
            b.push(&format!(
                "SELECT d.entity_id AS entity_id, {sort_value} AS sort_value FROM "
            ));
            b.push_driver(conds[i]);
            if let Some(key) = sort_key {
                b.push(match b.backend {
                    Backend::Sqlite => {
                        " CROSS JOIN search s INDEXED BY search_entity_key_value_idx"
                    }
                    Backend::Postgres => " CROSS JOIN search s",
                });
                b.push(" WHERE s.entity_id = d.entity_id AND s.key = ");
                b.bind_text(key);
            } else {
                b.push(" WHERE 1=1");
            }
            (Some(i), "d.entity_id")
        }
        Access::SortIndex => {
            b.push("SELECT s.entity_id AS entity_id, s.value AS sort_value FROM ");
            b.push(match b.backend {
                Backend::Sqlite => "search s INDEXED BY search_key_value_idx",
                Backend::Postgres => "search s",
            });
            b.push(" WHERE s.key = ");
            b.bind_text(sort_key.unwrap_or_default());
            (None, "s.entity_id")
        }
        Access::EntityIds => {
            b.push("SELECT fe.entity_id AS entity_id, NULL AS sort_value FROM final_entities fe WHERE 1=1");
            (None, "fe.entity_id")
        }
    };
    b.push_other_conditions(&conds, skip, id);
    // Scanning forward in descending order, or backward in ascending order, walks downwards.
    let downward = sort.descending != backwards;
    let (cmp, dir) = if downward {
        ("<", "DESC")
    } else {
        (">", "ASC")
    };
    if let Some(bound) = boundary {
        let value = bound.sort_value.as_deref().filter(|_| sort_key.is_some());
        b.push_after(value, id, &bound.entity_id, cmp);
    }
    match sort_key {
        Some(_) => b.push(&format!(" ORDER BY s.value {dir}, {id} {dir}")),
        None => b.push(&format!(" ORDER BY {id} {dir}")),
    };
    b.push_limit_offset(limit, offset);
    load_page(conn, b, dir, backwards)
}

/// The condition `kind = <one value>`, if the listing has one: its index and the kind.
fn single_kind<'a>(conds: &[Condition<'a>]) -> Option<(usize, &'a str)> {
    conds.iter().enumerate().find_map(|(i, c)| match c {
        Condition::Filter(EntityFilter::Key {
            key,
            values: Some(values),
        }) if key == "kind" && values.len() == 1 => Some((i, values[0].as_str())),
        _ => None,
    })
}

/// A page of one kind's entities walked in sort order through the per-kind sort index: no
/// entity of another kind is read (`key` is one of
/// [`KIND_SORT_KEYS`](crate::store::KIND_SORT_KEYS)).
#[expect(
    clippy::too_many_arguments,
    reason = "one query's parameters, each optional"
)]
fn page_by_kind_sort_index(
    conn: &mut DbConn<'_>,
    conds: &[Condition<'_>],
    kind_condition: usize,
    kind: &str,
    key: &'static str,
    sort: &SortSpec,
    boundary: Option<&Boundary>,
    backwards: bool,
    limit: i64,
    offset: i64,
) -> CatalogResult<Vec<FinalRow>> {
    let sorted = sort.key.is_some();
    let mut b = SqlBuilder::new(conn.backend());
    b.push(if sorted {
        "SELECT s.entity_id AS entity_id, s.value AS sort_value FROM search s"
    } else {
        "SELECT s.entity_id AS entity_id, NULL AS sort_value FROM search s"
    });
    if b.backend == Backend::Sqlite {
        b.push(" INDEXED BY search_kind_sort_idx");
    }
    b.push(" WHERE s.key = ");
    b.bind_text(key);
    b.push(" AND s.sort_kind = ");
    b.bind_text(kind);
    b.push_other_conditions(conds, Some(kind_condition), "s.entity_id");
    let downward = sort.descending != backwards;
    let (cmp, dir) = if downward {
        ("<", "DESC")
    } else {
        (">", "ASC")
    };
    if let Some(bound) = boundary {
        if sorted {
            b.push_after(
                bound.sort_value.as_deref(),
                "s.entity_id",
                &bound.entity_id,
                cmp,
            );
        } else {
            // A uid's search value is the uid itself.
            b.push_after(None, "s.value", &bound.entity_id, cmp);
        }
    }
    b.push(&format!(" ORDER BY s.value {dir}, s.entity_id {dir}"));
    b.push_limit_offset(limit, offset);
    load_page(conn, b, dir, backwards)
}

/// Runs a page query that selects `entity_id` and `sort_value`, reading the entities' text
/// for those rows alone.
fn load_page(
    conn: &mut DbConn<'_>,
    mut b: SqlBuilder,
    dir: &str,
    backwards: bool,
) -> CatalogResult<Vec<FinalRow>> {
    let inner = std::mem::take(&mut b.sql);
    b.push("SELECT p.entity_id AS entity_id, fe.final_entity AS final_entity, p.sort_value AS sort_value FROM (");
    b.push(&inner);
    b.push(&format!(
        ") p CROSS JOIN final_entities fe WHERE fe.entity_id = p.entity_id ORDER BY p.sort_value {dir}, p.entity_id {dir}"
    ));
    let mut rows: Vec<FinalRow> = b.load(conn)?;
    if backwards {
        rows.reverse();
    }
    Ok(rows)
}

/// How many final entities match (with a sort key, only those that have it).
pub fn count_final_entities(
    conn: &mut DbConn<'_>,
    filter: Option<&EntityFilter>,
    full_text: Option<(&str, &[String])>,
    sort_key: Option<&str>,
) -> CatalogResult<i64> {
    let conds = conditions(filter, full_text, sort_key);
    if let Some(n) = count_from_facets(conn, &conds)? {
        return Ok(n);
    }
    count_planned(conn, filter, full_text, sort_key, DRIVER_ESTIMATE_CAP)
}

/// A count by query (not from the facet counts), with the most matches a driving filter may
/// have.
fn count_planned(
    conn: &mut DbConn<'_>,
    filter: Option<&EntityFilter>,
    full_text: Option<(&str, &[String])>,
    sort_key: Option<&str>,
    cap: i64,
) -> CatalogResult<i64> {
    let conds = conditions(filter, full_text, sort_key);
    let mut b = SqlBuilder::new(conn.backend());
    match plan_access(conn, &conds, false, true, cap)? {
        Access::Driver(i) => {
            b.push("SELECT COUNT(*) AS count FROM ");
            b.push_driver(conds[i]);
            b.push(" WHERE 1=1");
            b.push_other_conditions(&conds, Some(i), "d.entity_id");
        }
        Access::SortIndex | Access::EntityIds => {
            b.push("SELECT COUNT(*) AS count FROM final_entities fe WHERE 1=1");
            b.push_other_conditions(&conds, None, "fe.entity_id");
        }
    }
    let rows: Vec<CountRow> = b.load(conn)?;
    Ok(rows.first().map(|r| r.count).unwrap_or(0))
}

/// Counts read off the facet counts kept at stitch time, when the listing is everything or
/// one counted key's values: every entity has exactly one kind, and search rows are unique
/// per entity, key and value, so the sums are exact.
fn count_from_facets(conn: &mut DbConn<'_>, conds: &[Condition<'_>]) -> CatalogResult<Option<i64>> {
    let (key, values): (&str, Option<&[String]>) = match conds {
        [] => ("kind", None),
        [Condition::Filter(EntityFilter::Key {
            key,
            values: Some(values),
        })] if crate::store::is_counted_facet_key(key)
            && values.iter().all(|v| v.is_ascii())
            && !values.is_empty() =>
        {
            (key.as_str(), Some(values.as_slice()))
        }
        _ => return Ok(None),
    };
    // Facet values keep their case; filters compare lower-cased (ASCII, checked above).
    let mut b = SqlBuilder::new(conn.backend());
    // PostgreSQL sums BIGINTs as NUMERIC.
    b.push(
        "SELECT CAST(COALESCE(SUM(count), 0) AS BIGINT) AS count FROM facet_counts WHERE key = ",
    );
    b.bind_text(key);
    if let Some(values) = values {
        b.push(" AND lower(value) IN ");
        b.bind_list(values);
    }
    let rows: Vec<CountRow> = b.load(conn)?;
    Ok(Some(rows.first().map(|r| r.count).unwrap_or(0)))
}

/// Value counts of one facet key, over the entities matching `filter`.
pub fn facet_values(
    conn: &mut DbConn<'_>,
    key: &str,
    filter: Option<&EntityFilter>,
) -> CatalogResult<Vec<(String, i64)>> {
    if filter.is_none() && crate::store::is_counted_facet_key(key) {
        let rows: Vec<(String, i64)> = with_conn!(conn, c => fc::table
            .filter(fc::key.eq(key))
            .filter(fc::count.gt(0))
            .select((fc::value, fc::count))
            .order(fc::value.asc())
            .load(*c))?;
        return Ok(rows);
    }
    let mut b = SqlBuilder::new(conn.backend());
    b.push("SELECT s.original_value AS value, COUNT(*) AS count FROM search s WHERE s.key = ");
    b.bind_text(key);
    b.push(" AND s.original_value IS NOT NULL");
    if let Some(f) = filter {
        b.push(" AND ");
        b.push_match(f, "s.entity_id");
    }
    b.push(" GROUP BY s.original_value ORDER BY s.original_value");
    let rows: Vec<FacetRow> = b.load(conn)?;
    Ok(rows.into_iter().map(|r| (r.value, r.count)).collect())
}

/// Whether the final entity `entity_id` matches `filter`, decided by the database.
pub fn entity_matches(
    conn: &mut DbConn<'_>,
    entity_id: &str,
    filter: &EntityFilter,
) -> CatalogResult<bool> {
    let mut b = SqlBuilder::new(conn.backend());
    b.push("SELECT COUNT(*) AS count FROM final_entities fe WHERE fe.entity_id = ");
    b.bind_text(entity_id);
    b.push(" AND ");
    b.push_match(filter, "fe.entity_id");
    let rows: Vec<CountRow> = b.load(conn)?;
    Ok(rows.first().is_some_and(|r| r.count > 0))
}

#[cfg(test)]
mod planner_tests {
    //! Every way a listing can be planned returns the same pages: each query is paged forwards
    //! and backwards once with every filter allowed to drive (cap above the catalog's size)
    //! and once with none (cap 0: sort-index, per-kind index, full-text and id walks), and
    //! both are compared with the filter evaluated in Rust over the same search rows.
    use super::*;
    use crate::stitch::stitch_entity;
    use crate::store::{write_final_entities, FinalEntityWrite};
    use portico_query::{build_search_rows, matches, SearchRow};
    use portico_test_support::TestDb;
    use serde_json::{json, Value};

    fn catalog() -> Vec<(String, Value)> {
        let kinds = ["Component", "API", "Group", "Component", "Resource"];
        let types = ["service", "website", "library"];
        (0..60)
            .map(|i| {
                let kind = kinds[i % kinds.len()];
                // Ids out of name order, so id order and name order differ.
                let id = format!("{:08}-0000-7000-8000-000000000000", (i * 37) % 101);
                let mut metadata =
                    json!({"name": format!("entity-{}", (i * 13) % 60), "namespace": "default"});
                if i % 3 == 0 {
                    metadata["tags"] = json!(["java", format!("t{}", i % 4)]);
                }
                if i % 4 != 0 {
                    metadata["title"] = json!(format!("Title Number {i}"));
                }
                let mut spec = json!({"owner": format!("team-{}", i % 4)});
                if i % 7 != 0 {
                    spec["type"] = json!(types[i % types.len()]);
                }
                let processed = json!({"apiVersion": "backstage.io/v1alpha1", "kind": kind,
                                       "metadata": metadata, "spec": spec});
                let (entity, _) = stitch_entity(&processed, &id, Vec::new(), &[], false);
                (id, entity)
            })
            .collect()
    }

    /// A filter and a full-text search (term and fields).
    type Query = (Option<EntityFilter>, Option<(&'static str, Vec<String>)>);

    fn queries() -> Vec<Query> {
        let kind = |k: &str| EntityFilter::equals("kind", k);
        let fields = vec!["metadata.title".to_string()];
        vec![
            (None, None),
            (Some(kind("component")), None),
            (
                Some(kind("component").and(EntityFilter::equals("spec.type", "service"))),
                None,
            ),
            (
                Some(EntityFilter::Any(vec![
                    kind("api"),
                    EntityFilter::equals("spec.owner", "team-1"),
                ])),
                None,
            ),
            (Some(EntityFilter::Not(Box::new(kind("group")))), None),
            (
                Some(kind("component").and(EntityFilter::exists("metadata.tags"))),
                None,
            ),
            (
                Some(EntityFilter::HasPrefix {
                    key: "metadata.name".into(),
                    prefix: "entity-1".into(),
                }),
                None,
            ),
            // Through the trigram index: one key, two keys (an entity may match on both),
            // and terms with LIKE wildcards and phrase quotes, which must match literally.
            (None, Some(("number 1", fields.clone()))),
            (Some(kind("component")), Some(("NUMBER", fields.clone()))),
            (
                None,
                Some((
                    "ty-1",
                    vec!["metadata.name".to_string(), "metadata.title".to_string()],
                )),
            ),
            (None, Some(("r_1", fields.clone()))),
            (None, Some(("r \"1", fields.clone()))),
            // Scanned: a term shorter than a trigram, and a key the index does not hold.
            (None, Some(("er", fields.clone()))),
            (None, Some(("1", fields))),
            (None, Some(("ervic", vec!["spec.type".to_string()]))),
        ]
    }

    fn sorts() -> Vec<SortSpec> {
        let s = |key: Option<&str>, descending| SortSpec {
            key: key.map(str::to_string),
            descending,
        };
        vec![
            s(None, false),
            s(Some("metadata.name"), false),
            s(Some("metadata.name"), true),
            s(Some("spec.type"), false),
            s(Some("metadata.title"), true),
        ]
    }

    /// The expected ids, in order: the filter evaluated over the search rows.
    fn expected(
        rows: &[(String, Vec<SearchRow>)],
        filter: Option<&EntityFilter>,
        full_text: Option<&(&str, Vec<String>)>,
        sort: &SortSpec,
    ) -> Vec<String> {
        let mut hits: Vec<(Option<String>, String)> = rows
            .iter()
            .filter(|(_, r)| filter.is_none_or(|f| matches(f, r)))
            .filter(|(_, r)| {
                full_text.is_none_or(|(term, fields)| {
                    r.iter().any(|row| {
                        fields.contains(&row.key)
                            && row
                                .value
                                .as_deref()
                                .is_some_and(|v| v.contains(&term.to_lowercase()))
                    })
                })
            })
            .filter_map(|(id, r)| match &sort.key {
                None => Some((None, id.clone())),
                Some(k) => r
                    .iter()
                    .find(|row| &row.key == k)
                    .map(|row| (row.value.clone(), id.clone())),
            })
            .collect();
        hits.sort();
        if sort.descending {
            hits.reverse();
        }
        hits.into_iter().map(|(_, id)| id).collect()
    }

    /// Every id of a listing, read page by page forwards, then backwards from its end.
    fn paged(
        conn: &mut DbConn<'_>,
        filter: Option<&EntityFilter>,
        full_text: Option<(&str, &[String])>,
        sort: &SortSpec,
        cap: i64,
    ) -> (Vec<String>, Vec<String>) {
        let mut forward = Vec::new();
        let mut boundary: Option<Boundary> = None;
        loop {
            let page = page_planned(
                conn,
                filter,
                full_text,
                sort,
                boundary.as_ref(),
                false,
                7,
                0,
                cap,
            )
            .expect("page");
            let Some(last) = page.last() else { break };
            boundary = Some(Boundary {
                sort_value: last.sort_value.clone(),
                entity_id: last.entity_id.clone(),
            });
            forward.extend(page.iter().map(|r| r.entity_id.clone()));
        }
        let mut backward = Vec::new();
        let mut boundary: Option<Boundary> = None;
        loop {
            let page = if let Some(b) = &boundary {
                page_planned(conn, filter, full_text, sort, Some(b), true, 7, 0, cap)
            } else {
                // The last page: the reversed order's first page.
                let reversed = SortSpec {
                    key: sort.key.clone(),
                    descending: !sort.descending,
                };
                page_planned(conn, filter, full_text, &reversed, None, false, 7, 0, cap).map(
                    |mut rows| {
                        rows.reverse();
                        rows
                    },
                )
            }
            .expect("page");
            let Some(first) = page.first() else { break };
            boundary = Some(Boundary {
                sort_value: first.sort_value.clone(),
                entity_id: first.entity_id.clone(),
            });
            let mut ids: Vec<String> = page.iter().map(|r| r.entity_id.clone()).collect();
            ids.append(&mut backward);
            backward = ids;
        }
        (forward, backward)
    }

    fn check_all_plans(test_db: &TestDb) {
        let entities = catalog();
        let rows: Vec<(String, Vec<SearchRow>)> = entities
            .iter()
            .map(|(id, e)| (id.clone(), build_search_rows(e).expect("rows")))
            .collect();
        test_db
            .db
            .write_blocking(|conn| {
                let writes = entities
                    .iter()
                    .map(|(id, e)| {
                        let entity_ref = format!("{}:default/{}", e["kind"], e["metadata"]["name"])
                            .replace('"', "")
                            .to_lowercase();
                        FinalEntityWrite::new(id.clone(), entity_ref, e, id.clone(), false)
                            .expect("indexable")
                    })
                    .collect();
                write_final_entities(conn, writes, 0).map(|_| ())
            })
            .expect("write");
        test_db
            .db
            .read_blocking(|conn| {
                let mut listed = 0;
                for (filter, full_text) in queries() {
                    let ft = full_text.as_ref().map(|(t, f)| (*t, f.as_slice()));
                    for sort in sorts() {
                        let want = expected(&rows, filter.as_ref(), full_text.as_ref(), &sort);
                        listed += want.len();
                        let counted =
                            count_final_entities(conn, filter.as_ref(), ft, sort.key.as_deref())
                                .expect("count");
                        assert_eq!(counted, want.len() as i64, "facet-aware count");
                        for cap in [0, i64::MAX] {
                            let (forward, backward) = paged(conn, filter.as_ref(), ft, &sort, cap);
                            let what = format!("{filter:?} {full_text:?} {sort:?} cap {cap}");
                            assert_eq!(forward, want, "forward: {what}");
                            assert_eq!(backward, want, "backward: {what}");
                            let counted =
                                count_planned(conn, filter.as_ref(), ft, sort.key.as_deref(), cap)
                                    .expect("count");
                            assert_eq!(counted, want.len() as i64, "count: {what}");
                        }
                    }
                }
                // Not vacuous: most queries list many entities over several pages.
                assert!(listed > 500, "only {listed} entities listed in all");
                Ok::<_, crate::error::CatalogError>(())
            })
            .expect("queries");
    }

    portico_test_support::test_on_both_backends!(every_plan_lists_the_same_pages, check_all_plans);
}
