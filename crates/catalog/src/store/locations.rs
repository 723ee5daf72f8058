//! Registered locations (`POST /locations`).

use crate::error::CatalogResult;
use diesel::prelude::*;
use portico_store::schema::locations::dsl as l;
use portico_store::{with_conn, DbConn};

#[derive(Debug, Clone, PartialEq, Eq, Queryable, Selectable, Insertable, serde::Serialize)]
#[diesel(table_name = portico_store::schema::locations)]
#[diesel(check_for_backend(diesel::pg::Pg, diesel::sqlite::Sqlite))]
pub struct LocationRow {
    pub id: String,
    #[serde(rename = "type")]
    pub location_type: String,
    pub target: String,
    #[serde(skip)]
    pub created_at: i64,
}

pub fn insert_location(conn: &mut DbConn<'_>, row: &LocationRow) -> CatalogResult<()> {
    with_conn!(conn, c => diesel::insert_into(l::locations).values(row).execute(*c))?;
    Ok(())
}

pub fn list_locations(conn: &mut DbConn<'_>) -> CatalogResult<Vec<LocationRow>> {
    Ok(with_conn!(conn, c => l::locations
        .order((l::created_at.asc(), l::id.asc()))
        .select(LocationRow::as_select())
        .load(*c))?)
}

pub fn find_location(conn: &mut DbConn<'_>, id: &str) -> CatalogResult<Option<LocationRow>> {
    Ok(with_conn!(conn, c => l::locations
        .filter(l::id.eq(id))
        .select(LocationRow::as_select())
        .first(*c)
        .optional())?)
}

pub fn find_location_by_target(
    conn: &mut DbConn<'_>,
    location_type: &str,
    target: &str,
) -> CatalogResult<Option<LocationRow>> {
    Ok(with_conn!(conn, c => l::locations
        .filter(l::location_type.eq(location_type).and(l::target.eq(target)))
        .select(LocationRow::as_select())
        .first(*c)
        .optional())?)
}

pub fn delete_location(conn: &mut DbConn<'_>, id: &str) -> CatalogResult<bool> {
    let n = with_conn!(conn, c => diesel::delete(l::locations.filter(l::id.eq(id))).execute(*c))?;
    Ok(n > 0)
}
