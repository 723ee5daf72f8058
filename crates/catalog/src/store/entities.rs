//! Reads of final entities for the API: by ref, by uid, filtered and ordered pages, counts
//! and facets. Filters become `IN (SELECT entity_id FROM search …)` conditions, built as SQL
//! text with bound parameters because their shape is only known at run time.

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
    fn placeholder(&mut self) {
        match self.backend {
            Backend::Sqlite => self.sql.push('?'),
            Backend::Postgres => {
                let n = self.binds.len();
                self.sql.push_str(&format!("${n}"));
            }
        }
    }

    /// Appends the condition that `fe.entity_id` matches the filter.
    pub fn push_filter(&mut self, filter: &EntityFilter) -> &mut Self {
        self.push("fe.entity_id IN (");
        self.push_id_set(filter);
        self.push(")")
    }

    /// Appends a `SELECT` of the entity ids matching `filter`, computed from the search rows
    /// alone (INTERSECT/UNION/EXCEPT), so the database reads no entity before it knows the
    /// entity matches.
    pub fn push_id_set(&mut self, filter: &EntityFilter) -> &mut Self {
        match filter {
            EntityFilter::All(items) if items.is_empty() => {
                self.push("SELECT entity_id FROM final_entities");
            }
            EntityFilter::Any(items) if items.is_empty() => {
                self.push("SELECT entity_id FROM final_entities WHERE 1=0");
            }
            EntityFilter::All(items) | EntityFilter::Any(items) if items.len() == 1 => {
                self.push_id_set(&items[0]);
            }
            EntityFilter::All(items) | EntityFilter::Any(items) => {
                let op = if matches!(filter, EntityFilter::All(_)) {
                    " INTERSECT "
                } else {
                    " UNION "
                };
                for (i, item) in items.iter().enumerate() {
                    if i > 0 {
                        self.push(op);
                    }
                    self.push_wrapped_id_set(item);
                }
            }
            EntityFilter::Not(inner) => {
                self.push("SELECT entity_id FROM final_entities EXCEPT ");
                self.push_wrapped_id_set(inner);
            }
            EntityFilter::Key { key, values } => {
                self.push("SELECT entity_id FROM search WHERE key = ");
                self.bind_text(key);
                if let Some(values) = values {
                    if values.is_empty() {
                        self.push(" AND 1=0");
                    } else {
                        self.push(" AND value IN (");
                        for (i, v) in values.iter().enumerate() {
                            if i > 0 {
                                self.push(", ");
                            }
                            self.bind_text(v);
                        }
                        self.push(")");
                    }
                }
            }
            EntityFilter::HasPrefix { key, prefix } => {
                self.push("SELECT entity_id FROM search WHERE key = ");
                self.bind_text(key);
                self.push(" AND value LIKE ");
                self.bind_text(&format!("{}%", escape_like(prefix)));
                self.push(" ESCAPE '\\'");
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
    pub fn push_full_text_id_set(&mut self, term: &str, fields: &[String]) -> &mut Self {
        self.push("SELECT entity_id FROM search WHERE key IN (");
        for (i, f) in fields.iter().enumerate() {
            if i > 0 {
                self.push(", ");
            }
            self.bind_text(&f.to_lowercase());
        }
        self.push(") AND value LIKE ");
        self.bind_text(&format!("%{}%", escape_like(&term.to_lowercase())));
        self.push(" ESCAPE '\\'");
        self
    }

    pub fn load<T>(&self, conn: &mut DbConn<'_>) -> CatalogResult<Vec<T>>
    where
        T: QueryableByName<diesel::sqlite::Sqlite> + QueryableByName<diesel::pg::Pg> + 'static,
    {
        let rows = with_conn!(conn, c => {
            let mut q = diesel::sql_query(self.sql.clone()).into_boxed();
            for b in &self.binds {
                q = match b {
                    BindValue::Text(t) => q.bind::<Text, _>(t.clone()),
                    BindValue::Int(i) => q.bind::<BigInt, _>(*i),
                };
            }
            q.load::<T>(*c)
        })?;
        Ok(rows)
    }
}

/// Escapes `LIKE` wildcards so a term matches literally (with `ESCAPE '\'`).
fn escape_like(text: &str) -> String {
    text.replace('\\', "\\\\")
        .replace('%', "\\%")
        .replace('_', "\\_")
}

/// How to order a listing: by one search key (entities lacking it last), ties by uid.
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
    let mut b = SqlBuilder::new(conn.backend());
    b.push("SELECT fe.entity_id AS entity_id, fe.final_entity AS final_entity, ");
    match &sort.key {
        Some(key) => {
            b.push("s.value AS sort_value FROM final_entities fe JOIN search s ON s.entity_id = fe.entity_id AND s.key = ");
            b.bind_text(key);
        }
        None => {
            b.push("NULL AS sort_value FROM final_entities fe");
        }
    }
    b.push(" WHERE 1=1");
    push_conditions(&mut b, filter, full_text, None);
    // Scanning forward in descending order, or backward in ascending order, walks downwards.
    let downward = sort.descending != backwards;
    let (cmp, dir) = if downward {
        ("<", "DESC")
    } else {
        (">", "ASC")
    };
    if let Some(bound) = boundary {
        match (&sort.key, &bound.sort_value) {
            (Some(_), Some(v)) => {
                b.push(&format!(" AND (s.value {cmp} "));
                b.bind_text(v);
                b.push(" OR (s.value = ");
                b.bind_text(v);
                b.push(&format!(" AND fe.entity_id {cmp} "));
                b.bind_text(&bound.entity_id);
                b.push("))");
            }
            _ => {
                b.push(&format!(" AND fe.entity_id {cmp} "));
                b.bind_text(&bound.entity_id);
            }
        }
    }
    match &sort.key {
        Some(_) => b.push(&format!(" ORDER BY s.value {dir}, fe.entity_id {dir}")),
        None => b.push(&format!(" ORDER BY fe.entity_id {dir}")),
    };
    b.push(" LIMIT ");
    b.bind_int(limit);
    if offset > 0 {
        b.push(" OFFSET ");
        b.bind_int(offset);
    }
    let mut rows: Vec<FinalRow> = b.load(conn)?;
    if backwards {
        rows.reverse();
    }
    Ok(rows)
}

fn push_conditions(
    b: &mut SqlBuilder,
    filter: Option<&EntityFilter>,
    full_text: Option<(&str, &[String])>,
    sort_key: Option<&str>,
) {
    let full_text = full_text.filter(|(term, fields)| !term.is_empty() && !fields.is_empty());
    if filter.is_none() && full_text.is_none() && sort_key.is_none() {
        return;
    }
    // One id set: the filter, the full text and the sort key's presence intersected.
    b.push(" AND fe.entity_id IN (");
    let mut first = true;
    let mut next = |b: &mut SqlBuilder| {
        if !std::mem::take(&mut first) {
            b.push(" INTERSECT ");
        }
    };
    if let Some(f) = filter {
        next(b);
        b.push_wrapped_id_set(f);
    }
    if let Some((term, fields)) = full_text {
        next(b);
        b.push_full_text_id_set(term, fields);
    }
    if let Some(key) = sort_key {
        next(b);
        b.push("SELECT entity_id FROM search WHERE key = ");
        b.bind_text(key);
    }
    b.push(")");
}

/// How many final entities match.
pub fn count_final_entities(
    conn: &mut DbConn<'_>,
    filter: Option<&EntityFilter>,
    full_text: Option<(&str, &[String])>,
    sort_key: Option<&str>,
) -> CatalogResult<i64> {
    let mut b = SqlBuilder::new(conn.backend());
    b.push("SELECT COUNT(*) AS count FROM final_entities fe WHERE 1=1");
    push_conditions(&mut b, filter, full_text, sort_key);
    let rows: Vec<CountRow> = b.load(conn)?;
    Ok(rows.first().map(|r| r.count).unwrap_or(0))
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
        b.push(" AND s.entity_id IN (");
        b.push_id_set(f);
        b.push(")");
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
    b.push_filter(filter);
    let rows: Vec<CountRow> = b.load(conn)?;
    Ok(rows.first().is_some_and(|r| r.count > 0))
}
