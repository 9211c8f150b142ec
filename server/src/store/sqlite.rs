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
    MetaStore, NewUpdate, PictureRecord, Status, StoreError, StoredDocument, UploadRecord,
};
use crate::auth::Role;

/// Metadata in SQLite.
#[derive(Debug, Clone)]
pub struct SqliteStore {
    pub(super) pool: SqlitePool,
    /// SQLite has one writer at a time; writers from the pool that find it busy sleep
    /// and retry (seconds, under load). Annotation writes queue here instead.
    pub(super) document_writes: std::sync::Arc<tokio::sync::Mutex<()>>,
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
        };
        store.migrate().await?;
        Ok(store)
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
            "INSERT INTO pictures (id, status, title, description, width, height, error, created_at, stage, done, total, tile_format, source_name, source_bytes)
             VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
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

    async fn pictures(
        &self,
        limit: u32,
        offset: u32,
        ready_only: bool,
    ) -> Result<(Vec<PictureRecord>, u64), StoreError> {
        let rows = sqlx::query(
            "SELECT * FROM pictures WHERE (? = 0 OR status = 'ready') ORDER BY created_at DESC, id LIMIT ? OFFSET ?",
        )
        .bind(ready_only)
        .bind(i64::from(limit))
        .bind(i64::from(offset))
        .fetch_all(&self.pool)
        .await?;
        let total: i64 =
            sqlx::query_scalar("SELECT COUNT(*) FROM pictures WHERE (? = 0 OR status = 'ready')")
                .bind(ready_only)
                .fetch_one(&self.pool)
                .await?;
        let pictures = rows.iter().map(picture_from).collect::<Result<_, _>>()?;
        Ok((pictures, total as u64))
    }

    async fn update_text(
        &self,
        id: &str,
        title: Option<&str>,
        description: Option<&str>,
    ) -> Result<(), StoreError> {
        sqlx::query("UPDATE pictures SET title = COALESCE(?, title), description = COALESCE(?, description) WHERE id = ?")
            .bind(title)
            .bind(description)
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
            "INSERT INTO uploads (id, length, \"offset\", metadata, created_at, expires_at, owner_hash, picture_id) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        )
        .bind(&u.id)
        .bind(u.length as i64)
        .bind(u.offset as i64)
        .bind(&u.metadata)
        .bind(&u.created_at)
        .bind(u.expires_at)
        .bind(&u.owner_hash)
        .bind(&u.picture_id)
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

    async fn append_updates(&self, updates: &[NewUpdate<'_>]) -> Result<Vec<i64>, StoreError> {
        let _writing = self.document_writes.lock().await;
        // One writer at a time (SQLite); sequence numbers count on per picture.
        let mut tx = self.pool.begin().await?;
        let now = super::times::now_micros();
        let mut seqs = Vec::with_capacity(updates.len());
        for (i, u) in updates.iter().enumerate() {
            // A microsecond apart, so that every update of a batch is its own moment.
            let at = super::times::micros_to_text(now + i as i64);
            let seq: i64 = sqlx::query_scalar(
                "INSERT INTO document_updates (picture_id, seq, at, author, author_id, author_color, role, node, restored_to, \"update\")
                 VALUES (?, (SELECT COALESCE(MAX(seq), 0) + 1 FROM document_updates WHERE picture_id = ?), ?, ?, ?, ?, ?, ?, ?, ?)
                 RETURNING seq",
            )
            .bind(u.picture_id)
            .bind(u.picture_id)
            .bind(&at)
            .bind(&u.author.name)
            .bind(&u.author.id)
            .bind(&u.author.color)
            .bind(u.role)
            .bind(u.node)
            .bind(u.restored_to)
            .bind(u.update)
            .fetch_one(&mut *tx)
            .await?;
            seqs.push(seq);
        }
        tx.commit().await?;
        Ok(seqs)
    }

    async fn load_document(&self, picture_id: &str) -> Result<StoredDocument, StoreError> {
        let snapshot: Option<(Vec<u8>, i64)> =
            sqlx::query_as("SELECT state, upto_seq FROM document_snapshots WHERE picture_id = ?")
                .bind(picture_id)
                .fetch_optional(&self.pool)
                .await?;
        let after = snapshot.as_ref().map_or(0, |s| s.1);
        let updates: Vec<(i64, Vec<u8>)> = sqlx::query_as(
            "SELECT seq, \"update\" FROM document_updates WHERE picture_id = ? AND seq > ? ORDER BY seq",
        )
        .bind(picture_id)
        .bind(after)
        .fetch_all(&self.pool)
        .await?;
        Ok(StoredDocument { snapshot, updates })
    }

    async fn save_snapshot(
        &self,
        picture_id: &str,
        state: &[u8],
        upto_seq: i64,
    ) -> Result<(), StoreError> {
        let _writing = self.document_writes.lock().await;
        sqlx::query(
            "INSERT INTO document_snapshots (picture_id, upto_seq, at, state) VALUES (?, ?, ?, ?)
             ON CONFLICT (picture_id) DO UPDATE SET upto_seq = excluded.upto_seq, at = excluded.at, state = excluded.state
             WHERE excluded.upto_seq >= document_snapshots.upto_seq",
        )
        .bind(picture_id)
        .bind(upto_seq)
        .bind(crate::routes::pictures::now_rfc3339())
        .bind(state)
        .execute(&self.pool)
        .await?;
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
            created_at: crate::routes::pictures::now_rfc3339(),
            stage: None,
            done: 0,
            total: 0,
            tile_format: None,
            source_name: "p.png".into(),
            source_bytes: 1,
        };
        store.create_picture(&picture, &[]).await.expect("picture");
        store
    }
}
