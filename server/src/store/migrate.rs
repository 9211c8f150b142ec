//! Schema migrations: numbered SQL files under `migrations/`, embedded in the binary,
//! applied in order inside one transaction each, recorded in `schema_migrations`.

/// The SQLite migrations, in order: (version, SQL).
pub const SQLITE: &[(i64, &str)] = &[
    (
        1,
        include_str!("../../../migrations/sqlite/0001_pictures.sql"),
    ),
    (
        2,
        include_str!("../../../migrations/sqlite/0002_documents.sql"),
    ),
    (
        3,
        include_str!("../../../migrations/sqlite/0003_history.sql"),
    ),
    (
        4,
        include_str!("../../../migrations/sqlite/0004_compact_log.sql"),
    ),
    (
        5,
        include_str!("../../../migrations/sqlite/0005_visibility_quotas.sql"),
    ),
    (
        6,
        include_str!("../../../migrations/sqlite/0006_history_authors.sql"),
    ),
];

/// The PostgreSQL migrations, in order: (version, SQL).
pub const POSTGRES: &[(i64, &str)] = &[
    (
        1,
        include_str!("../../../migrations/postgres/0001_pictures.sql"),
    ),
    (
        2,
        include_str!("../../../migrations/postgres/0002_documents.sql"),
    ),
    (
        3,
        include_str!("../../../migrations/postgres/0003_history.sql"),
    ),
    (
        4,
        include_str!("../../../migrations/postgres/0004_compact_log.sql"),
    ),
    (
        5,
        include_str!("../../../migrations/postgres/0005_visibility_quotas.sql"),
    ),
    (
        6,
        include_str!("../../../migrations/postgres/0006_history_authors.sql"),
    ),
    (
        7,
        include_str!("../../../migrations/postgres/0007_log_packs.sql"),
    ),
];

/// The version this build needs.
pub fn latest(migrations: &[(i64, &str)]) -> i64 {
    migrations.iter().map(|m| m.0).max().unwrap_or(0)
}
