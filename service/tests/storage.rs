//! The storage conformance suite against both backends.

mod common;

use shinny_service::storage::{conformance, postgres::PgStore, sqlite::SqliteStore, Store};

#[test]
fn sqlite_conformance() {
    let dir = tempfile::tempdir().unwrap();
    let store = SqliteStore::open(dir.path().join("db/shinny.db")).unwrap();
    conformance::run(&store, "t-");
    // Reopening applies no migration twice and keeps the data.
    drop(store);
    let again = SqliteStore::open(dir.path().join("db/shinny.db")).unwrap();
    assert_eq!(again.schema_version().unwrap(), 2);
    assert!(again.get("t-a", "id-1").unwrap().is_some());
}

#[test]
fn postgres_conformance() {
    let Some(url) = common::pg_url("postgres_conformance") else {
        return;
    };
    let schema = common::unique_schema();
    let store = PgStore::connect(&url, 4, Some(&schema)).unwrap();
    conformance::run(&store, "t-");
    drop(store);
    let again = PgStore::connect(&url, 1, Some(&schema)).unwrap();
    assert_eq!(again.schema_version().unwrap(), 2);
    assert!(again.get("t-a", "id-1").unwrap().is_some());
    common::drop_schema(&url, &schema);
}
