//! The distributed mode's metadata store: PostgreSQL through deadpool-postgres. Its
//! schema is applied by `hugepic migrate`; `serve` and `worker` only check it.

use std::str::FromStr;

use async_trait::async_trait;
use deadpool_postgres::{Manager, ManagerConfig, Pool, RecyclingMethod};
use tokio_postgres::{NoTls, Row};

use super::migrate::{latest, POSTGRES};
use super::{MetaStore, PictureRecord, Status, StoreError, Unfinished, UploadRecord, Visibility};
use crate::auth::Role;

/// Metadata in PostgreSQL.
#[derive(Clone)]
pub struct PostgresStore {
    pub(super) pool: Pool,
    /// Ids of the log's writers.
    pub(super) writers: std::sync::Arc<super::history::Writers>,
}

impl From<tokio_postgres::Error> for StoreError {
    fn from(e: tokio_postgres::Error) -> Self {
        // "db error" alone says nothing: the server's message says what went wrong.
        match e.as_db_error() {
            Some(db) => {
                StoreError::Database(format!("{e}: {} ({})", db.message(), db.code().code()))
            }
            None => StoreError::Database(e.to_string()),
        }
    }
}

impl From<deadpool_postgres::PoolError> for StoreError {
    fn from(e: deadpool_postgres::PoolError) -> Self {
        StoreError::Database(e.to_string())
    }
}

impl PostgresStore {
    /// Connects to `url` (a `postgres://` URL).
    pub fn connect(url: &str) -> Result<Self, StoreError> {
        let config = tokio_postgres::Config::from_str(url)
            .map_err(|e| StoreError::Database(format!("HUGEPIC_DATABASE_URL: {e}")))?;
        let manager = Manager::from_config(
            config,
            NoTls,
            ManagerConfig {
                recycling_method: RecyclingMethod::Fast,
            },
        );
        let pool = Pool::builder(manager)
            .max_size(16)
            .build()
            .map_err(|e| StoreError::Database(e.to_string()))?;
        Ok(PostgresStore {
            pool,
            writers: std::sync::Arc::default(),
        })
    }

    /// Applies missing migrations (`hugepic migrate`); returns the versions applied.
    pub async fn migrate(&self) -> Result<Vec<i64>, StoreError> {
        let mut client = self.pool.get().await?;
        client
            .batch_execute("CREATE TABLE IF NOT EXISTS schema_migrations (version BIGINT PRIMARY KEY, applied_at TIMESTAMPTZ NOT NULL DEFAULT now())")
            .await?;
        let tx = client.transaction().await?;
        // One migrator at a time, whoever runs it.
        tx.batch_execute("LOCK TABLE schema_migrations IN EXCLUSIVE MODE")
            .await?;
        let current: i64 = tx
            .query_one(
                "SELECT COALESCE(MAX(version), 0) FROM schema_migrations",
                &[],
            )
            .await?
            .get(0);
        let mut applied = Vec::new();
        for (version, sql) in POSTGRES.iter().filter(|m| m.0 > current) {
            tx.batch_execute(sql).await?;
            tx.execute(
                "INSERT INTO schema_migrations (version) VALUES ($1)",
                &[version],
            )
            .await?;
            applied.push(*version);
        }
        tx.commit().await?;
        Ok(applied)
    }

    /// Fails clearly when the schema is missing or older than this build.
    pub async fn check_schema(&self) -> Result<(), StoreError> {
        let client = self.pool.get().await?;
        let found: i64 = match client
            .query_one(
                "SELECT COALESCE(MAX(version), 0) FROM schema_migrations",
                &[],
            )
            .await
        {
            Ok(row) => row.get(0),
            Err(_) => 0,
        };
        if found < latest(POSTGRES) {
            return Err(StoreError::SchemaBehind {
                found,
                needed: latest(POSTGRES),
            });
        }
        Ok(())
    }
}

fn picture_from(row: &Row) -> PictureRecord {
    PictureRecord {
        id: row.get("id"),
        status: Status::parse(row.get::<_, String>("status").as_str()),
        title: row.get("title"),
        description: row.get("description"),
        width: row.get::<_, Option<i64>>("width").map(|v| v as u32),
        height: row.get::<_, Option<i64>>("height").map(|v| v as u32),
        error: row.get("error"),
        created_at: row.get("created_at"),
        stage: row.get("stage"),
        done: row.get::<_, i64>("done") as u64,
        total: row.get::<_, i64>("total") as u64,
        tile_format: row.get("tile_format"),
        source_name: row.get("source_name"),
        source_bytes: row.get::<_, i64>("source_bytes") as u64,
        visibility: Visibility::parse(row.get::<_, String>("visibility").as_str())
            .unwrap_or(Visibility::Unlisted),
    }
}

fn upload_from(row: &Row) -> UploadRecord {
    UploadRecord {
        id: row.get("id"),
        length: row.get::<_, i64>("length") as u64,
        offset: row.get::<_, i64>("offset") as u64,
        metadata: row.get("metadata"),
        created_at: row.get("created_at"),
        expires_at: row.get("expires_at"),
        owner_hash: row.get("owner_hash"),
        picture_id: row.get("picture_id"),
        address: row.get("address"),
    }
}

#[async_trait]
impl MetaStore for PostgresStore {
    async fn create_picture(
        &self,
        p: &PictureRecord,
        tokens: &[(Role, String)],
    ) -> Result<(), StoreError> {
        let mut client = self.pool.get().await?;
        let tx = client.transaction().await?;
        tx.execute(
            "INSERT INTO pictures (id, status, title, description, width, height, error, created_at, stage, done, total, tile_format, source_name, source_bytes, visibility)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15)",
            &[
                &p.id,
                &p.status.as_str(),
                &p.title,
                &p.description,
                &p.width.map(i64::from),
                &p.height.map(i64::from),
                &p.error,
                &p.created_at,
                &p.stage,
                &(p.done as i64),
                &(p.total as i64),
                &p.tile_format,
                &p.source_name,
                &(p.source_bytes as i64),
                &p.visibility.as_str(),
            ],
        )
        .await?;
        for (role, hash) in tokens {
            tx.execute(
                "INSERT INTO tokens (hash, picture_id, role) VALUES ($1, $2, $3)",
                &[hash, &p.id, &role.as_str()],
            )
            .await?;
        }
        tx.commit().await?;
        Ok(())
    }

    async fn picture(&self, id: &str) -> Result<Option<PictureRecord>, StoreError> {
        let client = self.pool.get().await?;
        Ok(client
            .query_opt("SELECT * FROM pictures WHERE id = $1", &[&id])
            .await?
            .as_ref()
            .map(picture_from))
    }

    async fn listed_pictures(
        &self,
        limit: u32,
        offset: u32,
    ) -> Result<(Vec<PictureRecord>, u64), StoreError> {
        let client = self.pool.get().await?;
        let rows = client
            .query(
                "SELECT * FROM pictures WHERE visibility = 'public' AND status = 'ready' ORDER BY created_at DESC, id LIMIT $1 OFFSET $2",
                &[&i64::from(limit), &i64::from(offset)],
            )
            .await?;
        let total: i64 = client
            .query_one(
                "SELECT COUNT(*) FROM pictures WHERE visibility = 'public' AND status = 'ready'",
                &[],
            )
            .await?
            .get(0);
        Ok((rows.iter().map(picture_from).collect(), total as u64))
    }

    async fn update_details(
        &self,
        id: &str,
        title: Option<&str>,
        description: Option<&str>,
        visibility: Option<Visibility>,
    ) -> Result<(), StoreError> {
        let client = self.pool.get().await?;
        client
            .execute(
                "UPDATE pictures SET title = COALESCE($1, title), description = COALESCE($2, description), visibility = COALESCE($3, visibility) WHERE id = $4",
                &[&title, &description, &visibility.map(Visibility::as_str), &id],
            )
            .await?;
        Ok(())
    }

    async fn set_status(
        &self,
        id: &str,
        status: Status,
        error: Option<&str>,
    ) -> Result<(), StoreError> {
        let client = self.pool.get().await?;
        client
            .execute(
                "UPDATE pictures SET status = $1, error = $2, stage = $1, done = 0, total = 0 WHERE id = $3",
                &[&status.as_str(), &error, &id],
            )
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
        let client = self.pool.get().await?;
        client
            .execute(
                "UPDATE pictures SET width = $1, height = $2, tile_format = $3 WHERE id = $4",
                &[&i64::from(width), &i64::from(height), &tile_format, &id],
            )
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
        let client = self.pool.get().await?;
        client
            .execute(
                "UPDATE pictures SET stage = $1, done = $2, total = $3 WHERE id = $4",
                &[&stage, &(done as i64), &(total as i64), &id],
            )
            .await?;
        Ok(())
    }

    async fn delete_picture(&self, id: &str) -> Result<(), StoreError> {
        let client = self.pool.get().await?;
        client
            .execute("DELETE FROM pictures WHERE id = $1", &[&id])
            .await?;
        Ok(())
    }

    async fn role_for(&self, id: &str, token_hash: &str) -> Result<Option<Role>, StoreError> {
        let client = self.pool.get().await?;
        let row = client
            .query_opt(
                "SELECT role FROM tokens WHERE hash = $1 AND picture_id = $2",
                &[&token_hash, &id],
            )
            .await?;
        Ok(row.and_then(|r| Role::parse(r.get::<_, String>(0).as_str())))
    }

    async fn replace_tokens(&self, id: &str, tokens: &[(Role, String)]) -> Result<(), StoreError> {
        let mut client = self.pool.get().await?;
        let tx = client.transaction().await?;
        for (role, hash) in tokens {
            tx.execute(
                "DELETE FROM tokens WHERE picture_id = $1 AND role = $2",
                &[&id, &role.as_str()],
            )
            .await?;
            tx.execute(
                "INSERT INTO tokens (hash, picture_id, role) VALUES ($1, $2, $3)",
                &[hash, &id, &role.as_str()],
            )
            .await?;
        }
        tx.commit().await?;
        Ok(())
    }

    async fn create_upload(&self, u: &UploadRecord) -> Result<(), StoreError> {
        let client = self.pool.get().await?;
        client
            .execute(
                "INSERT INTO uploads (id, length, \"offset\", metadata, created_at, expires_at, owner_hash, picture_id, address) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
                &[&u.id, &(u.length as i64), &(u.offset as i64), &u.metadata, &u.created_at, &u.expires_at, &u.owner_hash, &u.picture_id, &u.address],
            )
            .await?;
        Ok(())
    }

    async fn upload(&self, id: &str) -> Result<Option<UploadRecord>, StoreError> {
        let client = self.pool.get().await?;
        Ok(client
            .query_opt("SELECT * FROM uploads WHERE id = $1", &[&id])
            .await?
            .as_ref()
            .map(upload_from))
    }

    async fn set_upload_offset(&self, id: &str, offset: u64) -> Result<(), StoreError> {
        let client = self.pool.get().await?;
        client
            .execute(
                "UPDATE uploads SET \"offset\" = $1 WHERE id = $2",
                &[&(offset as i64), &id],
            )
            .await?;
        Ok(())
    }

    async fn finish_upload(&self, id: &str, picture_id: &str) -> Result<(), StoreError> {
        let client = self.pool.get().await?;
        client
            .execute(
                "UPDATE uploads SET picture_id = $1 WHERE id = $2",
                &[&picture_id, &id],
            )
            .await?;
        Ok(())
    }

    async fn delete_upload(&self, id: &str) -> Result<(), StoreError> {
        let client = self.pool.get().await?;
        client
            .execute("DELETE FROM uploads WHERE id = $1", &[&id])
            .await?;
        Ok(())
    }

    async fn unfinished_uploads(&self, address: Option<&str>) -> Result<Unfinished, StoreError> {
        let client = self.pool.get().await?;
        let row = client
            .query_one(
                "SELECT COUNT(*), COALESCE(SUM(length - \"offset\"), 0)::BIGINT FROM uploads WHERE picture_id IS NULL AND ($1::TEXT IS NULL OR address = $1)",
                &[&address],
            )
            .await?;
        Ok(Unfinished {
            uploads: row.get::<_, i64>(0).max(0) as u64,
            bytes_to_come: row.get::<_, i64>(1).max(0) as u64,
        })
    }

    async fn expired_uploads(&self, now: i64) -> Result<Vec<String>, StoreError> {
        let client = self.pool.get().await?;
        let rows = client
            .query(
                "SELECT id FROM uploads WHERE picture_id IS NULL AND expires_at < $1",
                &[&now],
            )
            .await?;
        Ok(rows.iter().map(|r| r.get(0)).collect())
    }

    async fn status_counts(&self) -> Result<Vec<(String, u64)>, StoreError> {
        let client = self.pool.get().await?;
        let rows = client
            .query(
                "SELECT status, COUNT(*) FROM pictures GROUP BY status ORDER BY status",
                &[],
            )
            .await?;
        Ok(rows
            .iter()
            .map(|r| (r.get::<_, String>(0), r.get::<_, i64>(1) as u64))
            .collect())
    }

    async fn ping(&self) -> Result<(), StoreError> {
        let client = self.pool.get().await?;
        client.execute("SELECT 1", &[]).await?;
        Ok(())
    }
}
