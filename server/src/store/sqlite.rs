//! The embedded mode's metadata store: one SQLite file under the data folder, through
//! sqlx (which the apalis SQLite queue also uses, on the same file).

use std::path::Path;
use std::str::FromStr;

use async_trait::async_trait;
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteRow, SqliteSynchronous,
};
use sqlx::{Row, SqlitePool};

use super::migrate::{latest, SQLITE};
use super::{
    MetaStore, NewUpdate, PictureRecord, Status, StoreError, Unfinished, UploadRecord, Visibility,
};
use crate::auth::Role;

/// Metadata in SQLite.
#[derive(Debug, Clone)]
pub struct SqliteStore {
    pub(super) pool: SqlitePool,
    /// SQLite has one writer at a time; writers from the pool that find it busy sleep
    /// and retry (seconds, under load). Annotation writes queue here instead.
    pub(super) document_writes: std::sync::Arc<tokio::sync::Mutex<()>>,
    /// Ids of the log's writers.
    pub(super) writers: std::sync::Arc<super::history::Writers>,
}

impl SqliteStore {
    /// Opens (creating) `path` and applies any missing migrations: the embedded mode
    /// owns its file, so there is nothing to coordinate.
    pub async fn open(path: &Path) -> Result<Self, StoreError> {
        let options = SqliteConnectOptions::from_str(&format!("sqlite://{}", path.display()))?
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            // In WAL mode, NORMAL syncs at checkpoints rather than on every commit: a
            // committed write survives the process being killed (it is in the WAL), only
            // a power cut can take the last ones. An fsync per annotation update cost
            // 10 to 800 ms on a busy disk here, and every collaborator waited for it.
            .synchronous(SqliteSynchronous::Normal)
            .busy_timeout(std::time::Duration::from_secs(10))
            .foreign_keys(true);
        let pool = SqlitePoolOptions::new()
            .max_connections(8)
            .connect_with(options)
            .await?;
        let store = SqliteStore {
            pool,
            document_writes: std::sync::Arc::default(),
            writers: std::sync::Arc::default(),
        };
        store.migrate().await?;
        Ok(store)
    }

    /// The id of `update`'s writer in `document_writers`, added if new.
    pub(super) async fn writer(
        &self,
        tx: &mut sqlx::Transaction<'_, sqlx::Sqlite>,
        update: &NewUpdate<'_>,
        learned: &mut Vec<(super::history::WriterKey, i64)>,
    ) -> Result<i64, StoreError> {
        let key = super::history::Writers::key(update);
        if let Some(id) = self.writers.get(&key) {
            return Ok(id);
        }
        if let Some((_, id)) = learned.iter().find(|(k, _)| *k == key) {
            return Ok(*id);
        }
        sqlx::query(
            "INSERT OR IGNORE INTO document_writers (author_id, author, author_color, role, node)
             VALUES (?, ?, ?, ?, ?)",
        )
        .bind(&key.0)
        .bind(&key.1)
        .bind(&key.2)
        .bind(&key.3)
        .bind(&key.4)
        .execute(&mut **tx)
        .await?;
        let id: i64 = sqlx::query_scalar(
            "SELECT id FROM document_writers
             WHERE author_id = ? AND author = ? AND author_color = ? AND role = ? AND node = ?",
        )
        .bind(&key.0)
        .bind(&key.1)
        .bind(&key.2)
        .bind(&key.3)
        .bind(&key.4)
        .fetch_one(&mut **tx)
        .await?;
        learned.push((key, id)); // remembered once the transaction commits
        Ok(id)
    }

    /// The connection pool, shared with the job queue.
    pub fn pool(&self) -> &SqlitePool {
        &self.pool
    }

    async fn migrate(&self) -> Result<(), StoreError> {
        sqlx::query("CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, applied_at TEXT NOT NULL)")
            .execute(&self.pool)
            .await?;
        let current: i64 =
            sqlx::query_scalar("SELECT COALESCE(MAX(version), 0) FROM schema_migrations")
                .fetch_one(&self.pool)
                .await?;
        for (version, sql) in SQLITE.iter().filter(|m| m.0 > current) {
            let mut tx = self.pool.begin().await?;
            sqlx::raw_sql(sqlx::AssertSqlSafe(*sql))
                .execute(&mut *tx)
                .await?;
            sqlx::query(
                "INSERT INTO schema_migrations (version, applied_at) VALUES (?, datetime('now'))",
            )
            .bind(version)
            .execute(&mut *tx)
            .await?;
            tx.commit().await?;
        }
        let now: i64 =
            sqlx::query_scalar("SELECT COALESCE(MAX(version), 0) FROM schema_migrations")
                .fetch_one(&self.pool)
                .await?;
        if now < latest(SQLITE) {
            return Err(StoreError::SchemaBehind {
                found: now,
                needed: latest(SQLITE),
            });
        }
        Ok(())
    }
}

fn picture_from(row: &SqliteRow) -> Result<PictureRecord, sqlx::Error> {
    Ok(PictureRecord {
        id: row.try_get("id")?,
        status: Status::parse(row.try_get::<String, _>("status")?.as_str()),
        title: row.try_get("title")?,
        description: row.try_get("description")?,
        width: row.try_get::<Option<i64>, _>("width")?.map(|v| v as u32),
        height: row.try_get::<Option<i64>, _>("height")?.map(|v| v as u32),
        error: row.try_get("error")?,
        created_at: row.try_get("created_at")?,
        stage: row.try_get("stage")?,
        done: row.try_get::<i64, _>("done")? as u64,
        total: row.try_get::<i64, _>("total")? as u64,
        tile_format: row.try_get("tile_format")?,
        source_name: row.try_get("source_name")?,
        source_bytes: row.try_get::<i64, _>("source_bytes")? as u64,
        visibility: Visibility::parse(row.try_get::<String, _>("visibility")?.as_str())
            .unwrap_or(Visibility::Unlisted),
    })
}

fn upload_from(row: &SqliteRow) -> Result<UploadRecord, sqlx::Error> {
    Ok(UploadRecord {
        id: row.try_get("id")?,
        length: row.try_get::<i64, _>("length")? as u64,
        offset: row.try_get::<i64, _>("offset")? as u64,
        metadata: row.try_get("metadata")?,
        created_at: row.try_get("created_at")?,
        expires_at: row.try_get("expires_at")?,
        owner_hash: row.try_get("owner_hash")?,
        picture_id: row.try_get("picture_id")?,
        address: row.try_get("address")?,
    })
}

#[async_trait]
impl MetaStore for SqliteStore {
    async fn create_picture(
        &self,
        p: &PictureRecord,
        tokens: &[(Role, String)],
    ) -> Result<(), StoreError> {
        let mut tx = self.pool.begin().await?;
        sqlx::query(
            "INSERT INTO pictures (id, status, title, description, width, height, error, created_at, stage, done, total, tile_format, source_name, source_bytes, visibility)
             VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        )
        .bind(&p.id)
        .bind(p.status.as_str())
        .bind(&p.title)
        .bind(&p.description)
        .bind(p.width.map(i64::from))
        .bind(p.height.map(i64::from))
        .bind(&p.error)
        .bind(&p.created_at)
        .bind(&p.stage)
        .bind(p.done as i64)
        .bind(p.total as i64)
        .bind(&p.tile_format)
        .bind(&p.source_name)
        .bind(p.source_bytes as i64)
        .bind(p.visibility.as_str())
        .execute(&mut *tx)
        .await?;
        for (role, hash) in tokens {
            sqlx::query("INSERT INTO tokens (hash, picture_id, role) VALUES (?, ?, ?)")
                .bind(hash)
                .bind(&p.id)
                .bind(role.as_str())
                .execute(&mut *tx)
                .await?;
        }
        tx.commit().await?;
        Ok(())
    }

    async fn picture(&self, id: &str) -> Result<Option<PictureRecord>, StoreError> {
        let row = sqlx::query("SELECT * FROM pictures WHERE id = ?")
            .bind(id)
            .fetch_optional(&self.pool)
            .await?;
        Ok(row.as_ref().map(picture_from).transpose()?)
    }

    async fn listed_pictures(
        &self,
        limit: u32,
        offset: u32,
    ) -> Result<(Vec<PictureRecord>, u64), StoreError> {
        let rows = sqlx::query(
            "SELECT * FROM pictures WHERE visibility = 'public' AND status = 'ready' ORDER BY created_at DESC, id LIMIT ? OFFSET ?",
        )
        .bind(i64::from(limit))
        .bind(i64::from(offset))
        .fetch_all(&self.pool)
        .await?;
        let total: i64 = sqlx::query_scalar(
            "SELECT COUNT(*) FROM pictures WHERE visibility = 'public' AND status = 'ready'",
        )
        .fetch_one(&self.pool)
        .await?;
        let pictures = rows.iter().map(picture_from).collect::<Result<_, _>>()?;
        Ok((pictures, total as u64))
    }

    async fn update_details(
        &self,
        id: &str,
        title: Option<&str>,
        description: Option<&str>,
        visibility: Option<Visibility>,
    ) -> Result<(), StoreError> {
        sqlx::query("UPDATE pictures SET title = COALESCE(?, title), description = COALESCE(?, description), visibility = COALESCE(?, visibility) WHERE id = ?")
            .bind(title)
            .bind(description)
            .bind(visibility.map(Visibility::as_str))
            .bind(id)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    async fn set_status(
        &self,
        id: &str,
        status: Status,
        error: Option<&str>,
    ) -> Result<(), StoreError> {
        sqlx::query("UPDATE pictures SET status = ?, error = ?, stage = ?, done = 0, total = 0 WHERE id = ?")
            .bind(status.as_str())
            .bind(error)
            .bind(status.as_str())
            .bind(id)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    async fn set_dimensions(
        &self,
        id: &str,
        width: u32,
        height: u32,
        tile_format: &str,
    ) -> Result<(), StoreError> {
        sqlx::query("UPDATE pictures SET width = ?, height = ?, tile_format = ? WHERE id = ?")
            .bind(i64::from(width))
            .bind(i64::from(height))
            .bind(tile_format)
            .bind(id)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    async fn set_progress(
        &self,
        id: &str,
        stage: &str,
        done: u64,
        total: u64,
    ) -> Result<(), StoreError> {
        sqlx::query("UPDATE pictures SET stage = ?, done = ?, total = ? WHERE id = ?")
            .bind(stage)
            .bind(done as i64)
            .bind(total as i64)
            .bind(id)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    async fn delete_picture(&self, id: &str) -> Result<(), StoreError> {
        sqlx::query("DELETE FROM pictures WHERE id = ?")
            .bind(id)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    async fn role_for(&self, id: &str, token_hash: &str) -> Result<Option<Role>, StoreError> {
        let role: Option<String> =
            sqlx::query_scalar("SELECT role FROM tokens WHERE hash = ? AND picture_id = ?")
                .bind(token_hash)
                .bind(id)
                .fetch_optional(&self.pool)
                .await?;
        Ok(role.as_deref().and_then(Role::parse))
    }

    async fn replace_tokens(&self, id: &str, tokens: &[(Role, String)]) -> Result<(), StoreError> {
        let mut tx = self.pool.begin().await?;
        for (role, hash) in tokens {
            sqlx::query("DELETE FROM tokens WHERE picture_id = ? AND role = ?")
                .bind(id)
                .bind(role.as_str())
                .execute(&mut *tx)
                .await?;
            sqlx::query("INSERT INTO tokens (hash, picture_id, role) VALUES (?, ?, ?)")
                .bind(hash)
                .bind(id)
                .bind(role.as_str())
                .execute(&mut *tx)
                .await?;
        }
        tx.commit().await?;
        Ok(())
    }

    async fn create_upload(&self, u: &UploadRecord) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO uploads (id, length, \"offset\", metadata, created_at, expires_at, owner_hash, picture_id, address) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
        )
        .bind(&u.id)
        .bind(u.length as i64)
        .bind(u.offset as i64)
        .bind(&u.metadata)
        .bind(&u.created_at)
        .bind(u.expires_at)
        .bind(&u.owner_hash)
        .bind(&u.picture_id)
        .bind(&u.address)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    async fn upload(&self, id: &str) -> Result<Option<UploadRecord>, StoreError> {
        let row = sqlx::query("SELECT * FROM uploads WHERE id = ?")
            .bind(id)
            .fetch_optional(&self.pool)
            .await?;
        Ok(row.as_ref().map(upload_from).transpose()?)
    }

    async fn set_upload_offset(&self, id: &str, offset: u64) -> Result<(), StoreError> {
        sqlx::query("UPDATE uploads SET \"offset\" = ? WHERE id = ?")
            .bind(offset as i64)
            .bind(id)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    async fn finish_upload(&self, id: &str, picture_id: &str) -> Result<(), StoreError> {
        sqlx::query("UPDATE uploads SET picture_id = ? WHERE id = ?")
            .bind(picture_id)
            .bind(id)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    async fn delete_upload(&self, id: &str) -> Result<(), StoreError> {
        sqlx::query("DELETE FROM uploads WHERE id = ?")
            .bind(id)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    async fn unfinished_uploads(&self, address: Option<&str>) -> Result<Unfinished, StoreError> {
        let (uploads, bytes): (i64, Option<i64>) = sqlx::query_as(
            "SELECT COUNT(*), SUM(length - \"offset\") FROM uploads WHERE picture_id IS NULL AND (? IS NULL OR address = ?)",
        )
        .bind(address)
        .bind(address)
        .fetch_one(&self.pool)
        .await?;
        Ok(Unfinished {
            uploads: uploads.max(0) as u64,
            bytes_to_come: bytes.unwrap_or(0).max(0) as u64,
        })
    }

    async fn expired_uploads(&self, now: i64) -> Result<Vec<String>, StoreError> {
        Ok(
            sqlx::query_scalar(
                "SELECT id FROM uploads WHERE picture_id IS NULL AND expires_at < ?",
            )
            .bind(now)
            .fetch_all(&self.pool)
            .await?,
        )
    }

    async fn status_counts(&self) -> Result<Vec<(String, u64)>, StoreError> {
        let rows: Vec<(String, i64)> =
            sqlx::query_as("SELECT status, COUNT(*) FROM pictures GROUP BY status ORDER BY status")
                .fetch_all(&self.pool)
                .await?;
        Ok(rows.into_iter().map(|(s, n)| (s, n as u64)).collect())
    }

    async fn ping(&self) -> Result<(), StoreError> {
        sqlx::query("SELECT 1").execute(&self.pool).await?;
        Ok(())
    }
}

#[cfg(test)]
impl SqliteStore {
    /// A store in `dir` holding one ready picture `"p"` (unit tests of the hub and history).
    pub(crate) async fn with_test_picture(dir: &Path) -> std::sync::Arc<dyn MetaStore> {
        let store: std::sync::Arc<dyn MetaStore> = std::sync::Arc::new(
            SqliteStore::open(&dir.join("test.sqlite"))
                .await
                .expect("store"),
        );
        let picture = PictureRecord {
            id: "p".into(),
            status: Status::Ready,
            title: String::new(),
            description: String::new(),
            width: Some(100),
            height: Some(100),
            error: None,
            created_at: super::times::now_rfc3339(),
            stage: None,
            done: 0,
            total: 0,
            tile_format: None,
            source_name: "p.png".into(),
            source_bytes: 1,
            visibility: Visibility::Public,
        };
        store.create_picture(&picture, &[]).await.expect("picture");
        store
    }
}

#[cfg(test)]
mod tests {
    use std::str::FromStr;

    use sqlx::sqlite::{SqliteConnectOptions, SqlitePoolOptions};

    use super::super::migrate::SQLITE;
    use super::SqliteStore;
    use crate::store::DocStore;
    use crate::store::{HistoryStore, MetaStore};

    /// A database at `path` migrated up to `version`, as an older build left it.
    async fn database_at(path: &std::path::Path, version: i64) -> sqlx::SqlitePool {
        let options = SqliteConnectOptions::from_str(&format!("sqlite://{}", path.display()))
            .expect("options")
            .create_if_missing(true);
        let pool = SqlitePoolOptions::new()
            .connect_with(options)
            .await
            .expect("pool");
        sqlx::raw_sql(
            "CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY, applied_at TEXT NOT NULL)",
        )
        .execute(&pool)
        .await
        .expect("migrations table");
        for (number, sql) in SQLITE.iter().filter(|m| m.0 <= version) {
            sqlx::raw_sql(sqlx::AssertSqlSafe(*sql))
                .execute(&pool)
                .await
                .expect("old migration");
            sqlx::query("INSERT INTO schema_migrations VALUES (?, 'then')")
                .bind(number)
                .execute(&pool)
                .await
                .expect("recorded");
        }
        pool
    }

    #[tokio::test]
    async fn a_log_written_before_migration_4_reads_back_the_same_after_it() {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("old.sqlite");
        {
            // A database at version 3, with the log as it was then.
            let pool = database_at(&path, 3).await;
            sqlx::raw_sql(
                "INSERT INTO pictures (id, status, created_at) VALUES ('p', 'ready', 'then'), ('q', 'ready', 'then');
                 INSERT INTO document_updates (picture_id, seq, at, author, author_id, author_color, role, node, restored_to, \"update\") VALUES
                   ('p', 1, '2026-11-29T20:03:55.123456Z', 'Ana', 'a1', '#ff0000', 'edit', 'n1', NULL, x'0102'),
                   ('p', 2, '2026-11-29T20:03:56.000001Z', 'Bo', 'b1', '#00ff00', 'owner', 'n1', 1, x'0304'),
                   ('q', 1, '2026-11-29T21:00:00.500000Z', 'Ana', 'a1', '#ff0000', 'edit', 'n1', NULL, x'05');",
            )
            .execute(&pool)
            .await
            .expect("old rows");
            pool.close().await;
        }
        let store = SqliteStore::open(&path).await.expect("migrated");
        let rows = store.log_rows("p", 0, None, 10).await.expect("rows");
        let seen: Vec<_> = rows
            .iter()
            .map(|r| {
                (
                    r.seq,
                    crate::store::times::micros_to_text(r.at),
                    r.author.id.as_str(),
                    r.author.name.as_str(),
                    r.author.color.as_str(),
                    r.role.as_str(),
                    r.restored_to,
                    r.update.clone(),
                )
            })
            .collect();
        assert_eq!(
            seen,
            vec![
                (
                    1,
                    "2026-11-29T20:03:55.123456Z".to_string(),
                    "a1",
                    "Ana",
                    "#ff0000",
                    "edit",
                    None,
                    vec![1, 2]
                ),
                (
                    2,
                    "2026-11-29T20:03:56.000001Z".to_string(),
                    "b1",
                    "Bo",
                    "#00ff00",
                    "owner",
                    Some(1),
                    vec![3, 4]
                ),
            ]
        );
        assert_eq!(
            store.log_rows("q", 0, None, 10).await.expect("rows").len(),
            1
        );
        // The log goes on after the old rows, and times resolve to seqs.
        let update = [7u8, 7];
        let author = crate::store::Author {
            id: "a1".into(),
            name: "Ana".into(),
            color: "#ff0000".into(),
        };
        let seqs = store
            .append_updates(&[crate::store::NewUpdate {
                picture_id: "p",
                update: &update,
                author: &author,
                role: "edit",
                node: "n1",
                restored_to: None,
            }])
            .await
            .expect("appended");
        assert_eq!(seqs, vec![3]);
        let at = crate::store::times::parse_time("2026-11-29T20:03:55.5Z").expect("time");
        assert_eq!(store.seq_at("p", at).await.expect("seq"), 1);
        assert_eq!(store.seq_at("p", 0).await.expect("seq"), 0);
        let writers: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM document_writers")
            .fetch_one(&store.pool)
            .await
            .expect("writers");
        assert_eq!(writers, 2, "Ana's rows share one writer");
        // Deleting a picture takes its log with it.
        store.delete_picture("q").await.expect("deleted");
        let left: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM document_log")
            .fetch_one(&store.pool)
            .await
            .expect("count");
        assert_eq!(left, 3);
    }

    /// A history indexed before migration 6 lists the same authors after it: the tally
    /// is made from the activity entries (the latest name and colour, every update).
    #[tokio::test]
    async fn authors_indexed_before_migration_6_are_listed_after_it() {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("old.sqlite");
        {
            let pool = database_at(&path, 5).await;
            sqlx::raw_sql(
                "INSERT INTO pictures (id, status, created_at) VALUES ('p', 'ready', 'then'), ('q', 'ready', 'then');
                 INSERT INTO document_activity (picture_id, from_seq, to_seq, from_at, to_at, author_id, author,
                     author_color, restored_to, updates, comments, added_ids, changed_ids, deleted_ids) VALUES
                   ('p', 1, 3, 't1', 't3', 'a1', 'Anna', '#ff0000', NULL, 3, 0, '[]', '[]', '[]'),
                   ('p', 4, 5, 't4', 't5', 'b1', 'Bo', '#00ff00', NULL, 2, 1, '[]', '[]', '[]'),
                   ('p', 6, 9, 't6', 't9', 'a1', 'Ana', '#0000ff', NULL, 4, 0, '[]', '[]', '[]'),
                   ('q', 1, 1, 't1', 't1', 'b1', 'Bo', '#00ff00', NULL, 1, 0, '[]', '[]', '[]');",
            )
            .execute(&pool)
            .await
            .expect("old rows");
            pool.close().await;
        }
        let store = SqliteStore::open(&path).await.expect("migrated");
        let listed: Vec<_> = store
            .authors("p")
            .await
            .expect("authors")
            .into_iter()
            .map(|(a, n)| (a.id, a.name, a.color, n))
            .collect();
        assert_eq!(
            listed,
            vec![
                ("a1".into(), "Ana".into(), "#0000ff".into(), 7),
                ("b1".into(), "Bo".into(), "#00ff00".into(), 2),
            ]
        );
        assert_eq!(store.authors("q").await.expect("authors").len(), 1);
    }
}
