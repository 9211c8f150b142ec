//! `HistoryStore` in SQLite. Times are RFC 3339 text with six fractional digits
//! (`times`), so comparing the text compares the times.

use async_trait::async_trait;
use futures_util::TryStreamExt;
use sqlx::sqlite::SqliteRow;
use sqlx::Row;
use tokio::sync::mpsc;

use super::times::{micros_to_text, parse_time};
use super::{
    ActivityQuery, ActivityRow, Author, Checkpoint, HistoryStore, IndexBatch, IndexState,
    LogBounds, LogRow, ShapeChange, SqliteStore, StoreError, VersionRow,
};

/// A picture's log rows with their writers; the picture is the first parameter.
const LOG_SELECT: &str = "SELECT u.seq, u.at, w.author_id, w.author, w.author_color, w.role,
        u.restored_to, u.\"update\"
    FROM document_log u JOIN document_writers w ON w.id = u.writer
    WHERE u.log = (SELECT id FROM document_logs WHERE picture_id = ?)";

fn time_of(row: &SqliteRow, column: &str) -> Result<i64, sqlx::Error> {
    let text: String = row.try_get(column)?;
    Ok(parse_time(&text).unwrap_or(0))
}

fn author_of(row: &SqliteRow) -> Result<Author, sqlx::Error> {
    Ok(Author {
        id: row.try_get("author_id")?,
        name: row.try_get("author")?,
        color: row.try_get("author_color")?,
    })
}

fn log_row(row: &SqliteRow) -> Result<LogRow, sqlx::Error> {
    Ok(LogRow {
        seq: row.try_get("seq")?,
        at: row.try_get("at")?,
        author: author_of(row)?,
        role: row.try_get("role")?,
        restored_to: row.try_get("restored_to")?,
        update: row.try_get("update")?,
    })
}

fn ids(row: &SqliteRow, column: &str) -> Result<Vec<String>, sqlx::Error> {
    let text: String = row.try_get(column)?;
    Ok(serde_json::from_str(&text).unwrap_or_default())
}

fn activity_row(row: &SqliteRow) -> Result<ActivityRow, sqlx::Error> {
    Ok(ActivityRow {
        from_seq: row.try_get("from_seq")?,
        to_seq: row.try_get("to_seq")?,
        from_at: time_of(row, "from_at")?,
        to_at: time_of(row, "to_at")?,
        author: author_of(row)?,
        restored_to: row.try_get("restored_to")?,
        updates: row.try_get("updates")?,
        comments: row.try_get("comments")?,
        added: ids(row, "added_ids")?,
        changed: ids(row, "changed_ids")?,
        deleted: ids(row, "deleted_ids")?,
    })
}

fn json_list(list: &[String]) -> String {
    serde_json::to_string(list).unwrap_or_else(|_| "[]".into())
}

/// A checkpoint and the ones it is a delta on, oldest (a whole state) first, with the
/// times of their last updates: the newest at or before seq ?2 of picture ?1 (bound
/// three times), then its base, and so on.
const CHECKPOINT_CHAIN: &str = "WITH RECURSIVE chain (seq, base_seq, state, encoding) AS (
        SELECT * FROM (SELECT seq, base_seq, state, encoding FROM document_checkpoints
                       WHERE picture_id = ? AND seq <= ? ORDER BY seq DESC LIMIT 1)
        UNION ALL
        SELECT c.seq, c.base_seq, c.state, c.encoding
        FROM document_checkpoints c JOIN chain ON c.seq = chain.base_seq
        WHERE c.picture_id = ?
    )
    SELECT chain.seq, chain.base_seq, chain.state, chain.encoding, u.at FROM chain
    LEFT JOIN document_log u
      ON u.log = (SELECT id FROM document_logs WHERE picture_id = ?) AND u.seq = chain.seq
    ORDER BY chain.seq";

#[async_trait]
impl HistoryStore for SqliteStore {
    async fn log_rows(
        &self,
        picture_id: &str,
        after: i64,
        upto: Option<i64>,
        limit: usize,
    ) -> Result<Vec<LogRow>, StoreError> {
        let sql = format!("{LOG_SELECT} AND u.seq > ? AND u.seq <= ? ORDER BY u.seq LIMIT ?");
        let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(picture_id)
            .bind(after)
            .bind(upto.unwrap_or(i64::MAX))
            .bind(i64::try_from(limit).unwrap_or(i64::MAX))
            .fetch_all(&self.pool)
            .await?;
        Ok(rows.iter().map(log_row).collect::<Result<_, _>>()?)
    }

    async fn stream_log(
        &self,
        picture_id: &str,
        after: i64,
        upto: i64,
        sink: mpsc::Sender<LogRow>,
    ) -> Result<(), StoreError> {
        let sql = format!("{LOG_SELECT} AND u.seq > ? AND u.seq <= ? ORDER BY u.seq");
        let mut rows = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(picture_id)
            .bind(after)
            .bind(upto)
            .fetch(&self.pool);
        while let Some(row) = rows.try_next().await? {
            if sink.send(log_row(&row)?).await.is_err() {
                break; // the reader left
            }
        }
        Ok(())
    }

    async fn checkpoint_chain(
        &self,
        picture_id: &str,
        seq: i64,
    ) -> Result<Vec<Checkpoint>, StoreError> {
        let rows: Vec<(i64, Option<i64>, Vec<u8>, String, Option<i64>)> =
            sqlx::query_as(CHECKPOINT_CHAIN)
                .bind(picture_id)
                .bind(seq)
                .bind(picture_id)
                .bind(picture_id)
                .fetch_all(&self.pool)
                .await?;
        Ok(rows
            .into_iter()
            .map(|(seq, base, state, encoding, at)| Checkpoint {
                seq,
                base,
                state,
                encoding,
                at,
            })
            .collect())
    }

    async fn save_checkpoint(
        &self,
        picture_id: &str,
        checkpoint: &Checkpoint,
    ) -> Result<(), StoreError> {
        let _writing = self.document_writes.lock().await;
        sqlx::query(
            "INSERT INTO document_checkpoints (picture_id, seq, base_seq, state, encoding)
             VALUES (?, ?, ?, ?, ?) ON CONFLICT DO NOTHING",
        )
        .bind(picture_id)
        .bind(checkpoint.seq)
        .bind(checkpoint.base)
        .bind(&checkpoint.state)
        .bind(&checkpoint.encoding)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    async fn index_state(&self, picture_id: &str) -> Result<IndexState, StoreError> {
        let row: Option<(i64, i64, i64, i64, i64)> = sqlx::query_as(
            "SELECT indexed_seq, since_checkpoint, bytes_since, checkpoint_bytes, chain_bytes
             FROM document_history WHERE picture_id = ?",
        )
        .bind(picture_id)
        .fetch_optional(&self.pool)
        .await?;
        Ok(row.map_or_else(
            IndexState::default,
            |(indexed_seq, since_checkpoint, bytes_since, checkpoint_bytes, chain_bytes)| {
                IndexState {
                    indexed_seq,
                    since_checkpoint,
                    bytes_since,
                    checkpoint_bytes,
                    chain_bytes,
                }
            },
        ))
    }

    async fn last_activity(&self, picture_id: &str) -> Result<Option<ActivityRow>, StoreError> {
        let row = sqlx::query(
            "SELECT * FROM document_activity WHERE picture_id = ? ORDER BY to_seq DESC LIMIT 1",
        )
        .bind(picture_id)
        .fetch_optional(&self.pool)
        .await?;
        Ok(row.as_ref().map(activity_row).transpose()?)
    }

    async fn commit_index(&self, picture_id: &str, batch: &IndexBatch) -> Result<bool, StoreError> {
        let _writing = self.document_writes.lock().await;
        let mut tx = self.pool.begin().await?;
        // The transaction's first statement writes: one that read first and wrote after
        // another connection's commit would fail with SQLITE_BUSY_SNAPSHOT.
        let moved = sqlx::query(
            "UPDATE document_history SET indexed_seq = ?, since_checkpoint = ?, bytes_since = ?,
                    checkpoint_bytes = ?, chain_bytes = ?
             WHERE picture_id = ? AND indexed_seq = ?",
        )
        .bind(batch.next.indexed_seq)
        .bind(batch.next.since_checkpoint)
        .bind(batch.next.bytes_since)
        .bind(batch.next.checkpoint_bytes)
        .bind(batch.next.chain_bytes)
        .bind(picture_id)
        .bind(batch.expected.indexed_seq)
        .execute(&mut *tx)
        .await?
        .rows_affected();
        if moved == 0 {
            // The first run for this picture, or another indexer got here first.
            let made = if batch.expected.indexed_seq == 0 {
                sqlx::query(
                    "INSERT INTO document_history (picture_id, indexed_seq, since_checkpoint,
                        bytes_since, checkpoint_bytes, chain_bytes)
                     VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (picture_id) DO NOTHING",
                )
                .bind(picture_id)
                .bind(batch.next.indexed_seq)
                .bind(batch.next.since_checkpoint)
                .bind(batch.next.bytes_since)
                .bind(batch.next.checkpoint_bytes)
                .bind(batch.next.chain_bytes)
                .execute(&mut *tx)
                .await?
                .rows_affected()
            } else {
                0
            };
            if made == 0 {
                return Ok(false); // rolled back on drop
            }
        }
        for a in &batch.activity {
            sqlx::query(
                "INSERT OR REPLACE INTO document_activity (picture_id, from_seq, to_seq, from_at, to_at,
                    author_id, author, author_color, restored_to, updates, comments, added_ids, changed_ids, deleted_ids)
                 VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            )
            .bind(picture_id)
            .bind(a.from_seq)
            .bind(a.to_seq)
            .bind(micros_to_text(a.from_at))
            .bind(micros_to_text(a.to_at))
            .bind(&a.author.id)
            .bind(&a.author.name)
            .bind(&a.author.color)
            .bind(a.restored_to)
            .bind(a.updates)
            .bind(a.comments)
            .bind(json_list(&a.added))
            .bind(json_list(&a.changed))
            .bind(json_list(&a.deleted))
            .execute(&mut *tx)
            .await?;
        }
        for c in &batch.shape_changes {
            sqlx::query(
                "INSERT OR IGNORE INTO document_shape_changes (picture_id, shape_id, seq, after)
                 VALUES (?, ?, ?, ?)",
            )
            .bind(picture_id)
            .bind(&c.shape_id)
            .bind(c.seq)
            .bind(&c.after)
            .execute(&mut *tx)
            .await?;
        }
        for a in &batch.authors {
            sqlx::query(
                "INSERT INTO document_authors (picture_id, author_id, author, author_color, updates, latest_seq)
                 VALUES (?, ?, ?, ?, ?, ?)
                 ON CONFLICT (picture_id, author_id) DO UPDATE SET
                    updates = document_authors.updates + excluded.updates, author = excluded.author,
                    author_color = excluded.author_color, latest_seq = excluded.latest_seq",
            )
            .bind(picture_id)
            .bind(&a.author.id)
            .bind(&a.author.name)
            .bind(&a.author.color)
            .bind(a.updates)
            .bind(a.latest_seq)
            .execute(&mut *tx)
            .await?;
        }
        for c in &batch.checkpoints {
            sqlx::query(
                "INSERT OR IGNORE INTO document_checkpoints (picture_id, seq, base_seq, state, encoding)
                 VALUES (?, ?, ?, ?, ?)",
            )
            .bind(picture_id)
            .bind(c.seq)
            .bind(c.base)
            .bind(&c.state)
            .bind(&c.encoding)
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        Ok(true)
    }

    async fn activity(
        &self,
        picture_id: &str,
        query: &ActivityQuery,
    ) -> Result<Vec<ActivityRow>, StoreError> {
        let rows = sqlx::query(
            "SELECT * FROM document_activity
             WHERE picture_id = ? AND to_seq < ? AND (? IS NULL OR author_id = ?)
               AND to_at >= ? AND from_at <= ?
             ORDER BY to_seq DESC LIMIT ?",
        )
        .bind(picture_id)
        .bind(query.before.unwrap_or(i64::MAX))
        .bind(query.author_id.as_deref())
        .bind(query.author_id.as_deref())
        .bind(micros_to_text(query.since.unwrap_or(0)))
        .bind(micros_to_text(
            query.until.unwrap_or(253_402_300_799_000_000),
        ))
        .bind(i64::from(query.limit))
        .fetch_all(&self.pool)
        .await?;
        Ok(rows.iter().map(activity_row).collect::<Result<_, _>>()?)
    }

    async fn authors(&self, picture_id: &str) -> Result<Vec<(Author, i64)>, StoreError> {
        let rows = sqlx::query(
            "SELECT author_id, author, author_color, updates AS total FROM document_authors
             WHERE picture_id = ? ORDER BY updates DESC, author_id",
        )
        .bind(picture_id)
        .fetch_all(&self.pool)
        .await?;
        Ok(rows
            .iter()
            .map(|r| Ok((author_of(r)?, r.try_get("total")?)))
            .collect::<Result<_, sqlx::Error>>()?)
    }

    async fn log_bounds(&self, picture_id: &str) -> Result<LogBounds, StoreError> {
        let end = |order: &'static str| {
            let sql = format!(
                "SELECT seq, at FROM document_log
                 WHERE log = (SELECT id FROM document_logs WHERE picture_id = ?)
                 ORDER BY seq {order} LIMIT 1"
            );
            let pool = self.pool.clone();
            let picture_id = picture_id.to_string();
            async move {
                sqlx::query_as::<_, (i64, i64)>(sqlx::AssertSqlSafe(sql))
                    .bind(picture_id)
                    .fetch_optional(&pool)
                    .await
            }
        };
        Ok(LogBounds {
            first: end("ASC").await?,
            latest: end("DESC").await?,
        })
    }

    async fn seq_at(&self, picture_id: &str, at: i64) -> Result<i64, StoreError> {
        // Log times grow with seq: the answer lies between the last checkpoint logged at
        // or before `at` and the next one, so at most one checkpoint interval is read.
        Ok(sqlx::query_scalar(
            "WITH l AS (SELECT id FROM document_logs WHERE picture_id = ?1),
                  c AS (SELECT c.seq, u.at FROM document_checkpoints c
                        JOIN document_log u ON u.log = (SELECT id FROM l) AND u.seq = c.seq
                        WHERE c.picture_id = ?1),
                  lo AS (SELECT COALESCE(MAX(seq), 0) AS seq FROM c WHERE at <= ?2),
                  hi AS (SELECT COALESCE(MIN(seq), 9223372036854775807) AS seq FROM c WHERE at > ?2)
             SELECT COALESCE(MAX(u.seq), (SELECT seq FROM lo)) FROM document_log u
             WHERE u.log = (SELECT id FROM l) AND u.seq > (SELECT seq FROM lo)
               AND u.seq < (SELECT seq FROM hi) AND u.at <= ?2",
        )
        .bind(picture_id)
        .bind(at)
        .fetch_one(&self.pool)
        .await?)
    }

    async fn shape_changes(
        &self,
        picture_id: &str,
        shape_id: &str,
    ) -> Result<Vec<ShapeChange>, StoreError> {
        let rows = sqlx::query(
            "SELECT c.seq, u.at, w.author_id, w.author, w.author_color, u.restored_to, c.after
             FROM document_shape_changes c
             JOIN document_log u
               ON u.log = (SELECT id FROM document_logs WHERE picture_id = c.picture_id)
              AND u.seq = c.seq
             JOIN document_writers w ON w.id = u.writer
             WHERE c.picture_id = ? AND c.shape_id = ? ORDER BY c.seq",
        )
        .bind(picture_id)
        .bind(shape_id)
        .fetch_all(&self.pool)
        .await?;
        Ok(rows
            .iter()
            .map(|r| {
                Ok(ShapeChange {
                    seq: r.try_get("seq")?,
                    at: r.try_get("at")?,
                    author: author_of(r)?,
                    restored_to: r.try_get("restored_to")?,
                    after: r.try_get("after")?,
                })
            })
            .collect::<Result<_, sqlx::Error>>()?)
    }

    async fn create_version(
        &self,
        picture_id: &str,
        version: &VersionRow,
    ) -> Result<(), StoreError> {
        let _writing = self.document_writes.lock().await;
        sqlx::query(
            "INSERT INTO document_versions (picture_id, id, name, seq, created_at, author_id, author, author_color)
             VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        )
        .bind(picture_id)
        .bind(&version.id)
        .bind(&version.name)
        .bind(version.seq)
        .bind(micros_to_text(version.created_at))
        .bind(&version.author.id)
        .bind(&version.author.name)
        .bind(&version.author.color)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    async fn versions(&self, picture_id: &str) -> Result<Vec<VersionRow>, StoreError> {
        let rows = sqlx::query(
            "SELECT * FROM document_versions WHERE picture_id = ? ORDER BY seq, created_at",
        )
        .bind(picture_id)
        .fetch_all(&self.pool)
        .await?;
        Ok(rows
            .iter()
            .map(|r| {
                Ok(VersionRow {
                    id: r.try_get("id")?,
                    name: r.try_get("name")?,
                    seq: r.try_get("seq")?,
                    created_at: time_of(r, "created_at")?,
                    author: author_of(r)?,
                })
            })
            .collect::<Result<_, sqlx::Error>>()?)
    }
}
