//! `HistoryStore` in PostgreSQL. Times travel as microseconds since 1970 (`bigint`),
//! converted in SQL, so no precision is lost either way.

use async_trait::async_trait;
use futures_util::{pin_mut, TryStreamExt};
use tokio::sync::mpsc;
use tokio_postgres::types::ToSql;
use tokio_postgres::Row;

use super::{
    ActivityQuery, ActivityRow, Author, Checkpoint, HistoryStore, IndexBatch, IndexState,
    LogBounds, LogRow, PostgresStore, ShapeChange, StoreError, VersionRow,
};

/// Microseconds since 1970 of a `timestamptz` column.
macro_rules! micros {
    ($column:literal) => {
        concat!("(extract(epoch from ", $column, ") * 1000000)::bigint")
    };
}

/// A `timestamptz` from a parameter in microseconds since 1970.
macro_rules! at_micros {
    ($param:literal) => {
        concat!(
            "(timestamptz 'epoch' + ",
            $param,
            "::bigint * interval '1 microsecond')"
        )
    };
}

/// A picture's log rows with seq in (`$2`, `$3`] and their writers, in seq order; the
/// picture is `$1`. The log is two tables, rows and packs (migration 0007), read as one
/// by `document_log_range`.
const LOG_RANGE: &str = concat!(
    "SELECT u.seq, ",
    micros!("u.at"),
    " AS at, w.author_id, w.author, w.author_color, w.role, u.restored_to, u.\"update\"
     FROM document_log_range((SELECT id FROM document_logs WHERE picture_id = $1), $2, $3) u
     JOIN document_writers w ON w.id = u.writer
     ORDER BY u.seq"
);

/// A checkpoint and the ones it is a delta on, oldest (a whole state) first, with the
/// times of their last updates: the newest at or before seq `$2` of picture `$1`, then
/// its base, and so on.
const CHECKPOINT_CHAIN: &str = "WITH RECURSIVE chain (seq, base_seq, state, encoding, at) AS (
        (SELECT seq, base_seq, state, encoding, at FROM document_checkpoints
         WHERE picture_id = $1 AND seq <= $2 ORDER BY seq DESC LIMIT 1)
        UNION ALL
        SELECT c.seq, c.base_seq, c.state, c.encoding, c.at
        FROM document_checkpoints c JOIN chain ON c.seq = chain.base_seq
        WHERE c.picture_id = $1
    )
    SELECT seq, base_seq, state, encoding, (extract(epoch from at) * 1000000)::bigint
    FROM chain ORDER BY seq";

/// Saves a checkpoint (`$1` picture, `$2` seq, `$3` base, `$4` state, `$5` encoding) with
/// the time of its last update, read while that update is still a row of its own (the
/// log is packed only up to a checkpoint already saved).
const CHECKPOINT_INSERT: &str =
    "INSERT INTO document_checkpoints (picture_id, seq, base_seq, state, encoding, at)
     VALUES ($1, $2, $3, $4, $5,
             (SELECT u.at FROM document_log_range(
                 (SELECT id FROM document_logs WHERE picture_id = $1), $2::bigint - 1, $2) u))
     ON CONFLICT DO NOTHING";

/// Moves the log of picture `$1` up to seq `$2` (a checkpoint's) into packs, one per
/// stretch between checkpoints, from where the last pack ends (see migration 0007).
const PACK_LOG: &str = "WITH l AS (SELECT id FROM document_logs WHERE picture_id = $1),
         done AS (SELECT COALESCE(MAX(last_seq), 0) AS seq FROM document_log_packs
                  WHERE log = (SELECT id FROM l)),
         ends AS (SELECT seq AS upto, LAG(seq) OVER (ORDER BY seq) AS after
                  FROM document_checkpoints
                  WHERE picture_id = $1 AND seq > (SELECT seq FROM done) AND seq <= $2),
         moved AS (DELETE FROM document_log u
                   WHERE u.log = (SELECT id FROM l) AND u.seq > (SELECT seq FROM done)
                     AND u.seq <= (SELECT MAX(upto) FROM ends)
                   RETURNING u.*)
    INSERT INTO document_log_packs (log, first_seq, last_seq, last_at, writers, seqs, ats, restored, updates)
    SELECT m.log, MIN(m.seq), MAX(m.seq), MAX(m.at), array_agg(m.writer ORDER BY m.seq),
           array_agg(m.seq ORDER BY m.seq), array_agg(m.at ORDER BY m.seq),
           array_agg(m.restored_to ORDER BY m.seq), array_agg(m.\"update\" ORDER BY m.seq)
    FROM moved m JOIN ends e ON m.seq <= e.upto AND m.seq > COALESCE(e.after, (SELECT seq FROM done))
    GROUP BY m.log, e.upto";

const ACTIVITY_SELECT: &str = concat!(
    "SELECT from_seq, to_seq, ",
    micros!("from_at"),
    " AS from_at, ",
    micros!("to_at"),
    " AS to_at, author_id, author, author_color, restored_to, updates, comments, added_ids, changed_ids, deleted_ids FROM document_activity"
);

fn author_of(row: &Row) -> Author {
    Author {
        id: row.get("author_id"),
        name: row.get("author"),
        color: row.get("author_color"),
    }
}

fn log_row(row: &Row) -> LogRow {
    LogRow {
        seq: row.get("seq"),
        at: row.get("at"),
        author: author_of(row),
        role: row.get("role"),
        restored_to: row.get("restored_to"),
        update: row.get("update"),
    }
}

fn ids(row: &Row, column: &str) -> Vec<String> {
    serde_json::from_str(row.get::<_, &str>(column)).unwrap_or_default()
}

fn activity_row(row: &Row) -> ActivityRow {
    ActivityRow {
        from_seq: row.get("from_seq"),
        to_seq: row.get("to_seq"),
        from_at: row.get("from_at"),
        to_at: row.get("to_at"),
        author: author_of(row),
        restored_to: row.get("restored_to"),
        updates: row.get("updates"),
        comments: row.get("comments"),
        added: ids(row, "added_ids"),
        changed: ids(row, "changed_ids"),
        deleted: ids(row, "deleted_ids"),
    }
}

fn json_list(list: &[String]) -> String {
    serde_json::to_string(list).unwrap_or_else(|_| "[]".into())
}

#[async_trait]
impl HistoryStore for PostgresStore {
    async fn log_rows(
        &self,
        picture_id: &str,
        after: i64,
        upto: Option<i64>,
        limit: usize,
    ) -> Result<Vec<LogRow>, StoreError> {
        let client = self.pool.get().await?;
        let sql = format!("{LOG_RANGE} LIMIT $4");
        let rows = client
            .query(
                &sql,
                &[
                    &picture_id,
                    &after,
                    &upto.unwrap_or(i64::MAX),
                    &i64::try_from(limit).unwrap_or(i64::MAX),
                ],
            )
            .await?;
        Ok(rows.iter().map(log_row).collect())
    }

    async fn stream_log(
        &self,
        picture_id: &str,
        after: i64,
        upto: i64,
        sink: mpsc::Sender<LogRow>,
    ) -> Result<(), StoreError> {
        let client = self.pool.get().await?;
        let params: [&(dyn ToSql + Sync); 3] = [&picture_id, &after, &upto];
        let rows = client.query_raw(LOG_RANGE, params).await?;
        pin_mut!(rows);
        while let Some(row) = rows.try_next().await? {
            if sink.send(log_row(&row)).await.is_err() {
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
        let client = self.pool.get().await?;
        let rows = client.query(CHECKPOINT_CHAIN, &[&picture_id, &seq]).await?;
        Ok(rows
            .iter()
            .map(|r| Checkpoint {
                seq: r.get(0),
                base: r.get(1),
                state: r.get(2),
                encoding: r.get(3),
                at: r.get(4),
            })
            .collect())
    }

    async fn save_checkpoint(
        &self,
        picture_id: &str,
        checkpoint: &Checkpoint,
    ) -> Result<(), StoreError> {
        let client = self.pool.get().await?;
        client
            .execute(
                CHECKPOINT_INSERT,
                &[
                    &picture_id,
                    &checkpoint.seq,
                    &checkpoint.base,
                    &checkpoint.state,
                    &checkpoint.encoding,
                ],
            )
            .await?;
        Ok(())
    }

    async fn index_state(&self, picture_id: &str) -> Result<IndexState, StoreError> {
        let client = self.pool.get().await?;
        let row = client
            .query_opt(
                "SELECT indexed_seq, since_checkpoint, bytes_since, checkpoint_bytes, chain_bytes
                 FROM document_history WHERE picture_id = $1",
                &[&picture_id],
            )
            .await?;
        Ok(row.map_or_else(IndexState::default, |r| IndexState {
            indexed_seq: r.get(0),
            since_checkpoint: r.get(1),
            bytes_since: r.get(2),
            checkpoint_bytes: r.get(3),
            chain_bytes: r.get(4),
        }))
    }

    async fn last_activity(&self, picture_id: &str) -> Result<Option<ActivityRow>, StoreError> {
        let client = self.pool.get().await?;
        let sql = format!("{ACTIVITY_SELECT} WHERE picture_id = $1 ORDER BY to_seq DESC LIMIT 1");
        let row = client.query_opt(&sql, &[&picture_id]).await?;
        Ok(row.as_ref().map(activity_row))
    }

    async fn commit_index(&self, picture_id: &str, batch: &IndexBatch) -> Result<bool, StoreError> {
        let mut client = self.pool.get().await?;
        let tx = client.transaction().await?;
        // Claims the picture's index row (made if missing) until commit.
        tx.execute(
            "INSERT INTO document_history (picture_id, indexed_seq, since_checkpoint) VALUES ($1, 0, 0)
             ON CONFLICT DO NOTHING",
            &[&picture_id],
        )
        .await?;
        let current: i64 = tx
            .query_one(
                "SELECT indexed_seq FROM document_history WHERE picture_id = $1 FOR UPDATE",
                &[&picture_id],
            )
            .await?
            .get(0);
        if current != batch.expected.indexed_seq {
            return Ok(false); // another indexer got here first; rolled back on drop
        }
        tx.execute(
            "UPDATE document_history SET indexed_seq = $2, since_checkpoint = $3, bytes_since = $4,
                    checkpoint_bytes = $5, chain_bytes = $6
             WHERE picture_id = $1",
            &[
                &picture_id,
                &batch.next.indexed_seq,
                &batch.next.since_checkpoint,
                &batch.next.bytes_since,
                &batch.next.checkpoint_bytes,
                &batch.next.chain_bytes,
            ],
        )
        .await?;
        let upsert = tx
            .prepare_cached(concat!(
                "INSERT INTO document_activity (picture_id, from_seq, to_seq, from_at, to_at, author_id, author,
                    author_color, restored_to, updates, comments, added_ids, changed_ids, deleted_ids)
                 VALUES ($1, $2, $3, ",
                at_micros!("$4"),
                ", ",
                at_micros!("$5"),
                ", $6, $7, $8, $9, $10, $11, $12, $13, $14)
                 ON CONFLICT (picture_id, from_seq) DO UPDATE SET to_seq = excluded.to_seq,
                    to_at = excluded.to_at, author = excluded.author, author_color = excluded.author_color,
                    updates = excluded.updates, comments = excluded.comments, added_ids = excluded.added_ids,
                    changed_ids = excluded.changed_ids, deleted_ids = excluded.deleted_ids"
            ))
            .await?;
        for a in &batch.activity {
            let lists = [
                json_list(&a.added),
                json_list(&a.changed),
                json_list(&a.deleted),
            ];
            tx.execute(
                &upsert,
                &[
                    &picture_id,
                    &a.from_seq,
                    &a.to_seq,
                    &a.from_at,
                    &a.to_at,
                    &a.author.id,
                    &a.author.name,
                    &a.author.color,
                    &a.restored_to,
                    &a.updates,
                    &a.comments,
                    &lists[0],
                    &lists[1],
                    &lists[2],
                ],
            )
            .await?;
        }
        let change = tx
            .prepare_cached(
                "INSERT INTO document_shape_changes (picture_id, shape_id, seq, after) VALUES ($1, $2, $3, $4)
                 ON CONFLICT DO NOTHING",
            )
            .await?;
        let params: Vec<[&(dyn ToSql + Sync); 4]> = batch
            .shape_changes
            .iter()
            .map(|c| {
                [
                    &picture_id as &(dyn ToSql + Sync),
                    &c.shape_id,
                    &c.seq,
                    &c.after,
                ]
            })
            .collect();
        futures_util::future::try_join_all(params.iter().map(|p| tx.execute(&change, p))).await?;
        let tally = tx
            .prepare_cached(
                "INSERT INTO document_authors (picture_id, author_id, author, author_color, updates, latest_seq)
                 VALUES ($1, $2, $3, $4, $5, $6)
                 ON CONFLICT (picture_id, author_id) DO UPDATE SET
                    updates = document_authors.updates + excluded.updates, author = excluded.author,
                    author_color = excluded.author_color, latest_seq = excluded.latest_seq",
            )
            .await?;
        for a in &batch.authors {
            tx.execute(
                &tally,
                &[
                    &picture_id,
                    &a.author.id,
                    &a.author.name,
                    &a.author.color,
                    &a.updates,
                    &a.latest_seq,
                ],
            )
            .await?;
        }
        for c in &batch.checkpoints {
            tx.execute(
                CHECKPOINT_INSERT,
                &[&picture_id, &c.seq, &c.base, &c.state, &c.encoding],
            )
            .await?;
        }
        if let Some(last) = batch.checkpoints.iter().map(|c| c.seq).max() {
            tx.execute(PACK_LOG, &[&picture_id, &last]).await?;
        }
        tx.commit().await?;
        Ok(true)
    }

    async fn activity(
        &self,
        picture_id: &str,
        query: &ActivityQuery,
    ) -> Result<Vec<ActivityRow>, StoreError> {
        let client = self.pool.get().await?;
        let sql = format!(
            concat!(
                "{} WHERE picture_id = $1 AND to_seq < $2 AND ($3::text IS NULL OR author_id = $3)
                   AND to_at >= ",
                at_micros!("$4"),
                " AND from_at <= ",
                at_micros!("$5"),
                " ORDER BY to_seq DESC LIMIT $6"
            ),
            ACTIVITY_SELECT
        );
        let rows = client
            .query(
                &sql,
                &[
                    &picture_id,
                    &query.before.unwrap_or(i64::MAX),
                    &query.author_id,
                    &query.since.unwrap_or(0),
                    &query.until.unwrap_or(253_402_300_799_000_000),
                    &i64::from(query.limit),
                ],
            )
            .await?;
        Ok(rows.iter().map(activity_row).collect())
    }

    async fn authors(&self, picture_id: &str) -> Result<Vec<(Author, i64)>, StoreError> {
        let client = self.pool.get().await?;
        let rows = client
            .query(
                "SELECT author_id, author, author_color, updates AS total FROM document_authors
                 WHERE picture_id = $1 ORDER BY updates DESC, author_id",
                &[&picture_id],
            )
            .await?;
        Ok(rows
            .iter()
            .map(|r| (author_of(r), r.get::<_, i64>("total")))
            .collect())
    }

    async fn log_bounds(&self, picture_id: &str) -> Result<LogBounds, StoreError> {
        let client = self.pool.get().await?;
        // The first (or latest) of the rows and of the packs' ends, then the first (or
        // latest) of those.
        let end = |order: &str, pack_end: &str| {
            format!(
                concat!(
                    "WITH l AS (SELECT id FROM document_logs WHERE picture_id = $1)
                     SELECT seq, ",
                    micros!("at"),
                    " FROM ((SELECT seq, at FROM document_log WHERE log = (SELECT id FROM l)
                             ORDER BY seq {order} LIMIT 1)
                            UNION ALL
                            (SELECT seqs[{end}], ats[{end}] FROM document_log_packs
                             WHERE log = (SELECT id FROM l) ORDER BY last_seq {order} LIMIT 1)) e
                     ORDER BY seq {order} LIMIT 1"
                ),
                order = order,
                end = pack_end,
            )
        };
        let first = client.query_opt(&end("ASC", "1"), &[&picture_id]).await?;
        let latest = client
            .query_opt(&end("DESC", "cardinality(seqs)"), &[&picture_id])
            .await?;
        Ok(LogBounds {
            first: first.map(|r| (r.get(0), r.get(1))),
            latest: latest.map(|r| (r.get(0), r.get(1))),
        })
    }

    async fn seq_at(&self, picture_id: &str, at: i64) -> Result<i64, StoreError> {
        // Log times grow with seq: the answer lies between the last checkpoint logged at
        // or before `at` and the next one, so at most one checkpoint interval is read.
        let client = self.pool.get().await?;
        let row = client
            .query_one(
                concat!(
                    "WITH t AS (SELECT ", at_micros!("$2"), " AS at),
                          c AS (SELECT seq, at FROM document_checkpoints WHERE picture_id = $1),
                          lo AS (SELECT COALESCE(MAX(seq), 0) AS seq FROM c WHERE at <= (SELECT at FROM t)),
                          hi AS (SELECT COALESCE(MIN(seq), 9223372036854775807) AS seq FROM c
                                 WHERE at > (SELECT at FROM t))
                     SELECT COALESCE(MAX(u.seq), (SELECT seq FROM lo))
                     FROM document_log_range((SELECT id FROM document_logs WHERE picture_id = $1),
                                             (SELECT seq FROM lo), (SELECT seq FROM hi) - 1) u
                     WHERE u.at <= (SELECT at FROM t)"
                ),
                &[&picture_id, &at],
            )
            .await?;
        Ok(row.get(0))
    }

    async fn shape_changes(
        &self,
        picture_id: &str,
        shape_id: &str,
    ) -> Result<Vec<ShapeChange>, StoreError> {
        let client = self.pool.get().await?;
        let rows = client
            .query(
                concat!(
                    "WITH l AS (SELECT id FROM document_logs WHERE picture_id = $1)
                     SELECT c.seq, ",
                    micros!("u.at"),
                    " AS at, w.author_id, w.author, w.author_color, u.restored_to, c.after
                     FROM document_shape_changes c
                     CROSS JOIN LATERAL document_log_range((SELECT id FROM l), c.seq - 1, c.seq) u
                     JOIN document_writers w ON w.id = u.writer
                     WHERE c.picture_id = $1 AND c.shape_id = $2 ORDER BY c.seq"
                ),
                &[&picture_id, &shape_id],
            )
            .await?;
        Ok(rows
            .iter()
            .map(|r| ShapeChange {
                seq: r.get("seq"),
                at: r.get("at"),
                author: author_of(r),
                restored_to: r.get("restored_to"),
                after: r.get("after"),
            })
            .collect())
    }

    async fn create_version(
        &self,
        picture_id: &str,
        version: &VersionRow,
    ) -> Result<(), StoreError> {
        let client = self.pool.get().await?;
        client
            .execute(
                concat!(
                    "INSERT INTO document_versions (picture_id, id, name, seq, created_at, author_id, author, author_color)
                     VALUES ($1, $2, $3, $4, ",
                    at_micros!("$5"),
                    ", $6, $7, $8)"
                ),
                &[
                    &picture_id,
                    &version.id,
                    &version.name,
                    &version.seq,
                    &version.created_at,
                    &version.author.id,
                    &version.author.name,
                    &version.author.color,
                ],
            )
            .await?;
        Ok(())
    }

    async fn versions(&self, picture_id: &str) -> Result<Vec<VersionRow>, StoreError> {
        let client = self.pool.get().await?;
        let rows = client
            .query(
                concat!(
                    "SELECT id, name, seq, ",
                    micros!("created_at"),
                    " AS created_at, author_id, author, author_color FROM document_versions
                     WHERE picture_id = $1 ORDER BY seq, created_at"
                ),
                &[&picture_id],
            )
            .await?;
        Ok(rows
            .iter()
            .map(|r| VersionRow {
                id: r.get("id"),
                name: r.get("name"),
                seq: r.get("seq"),
                created_at: r.get("created_at"),
                author: author_of(r),
            })
            .collect())
    }
}
