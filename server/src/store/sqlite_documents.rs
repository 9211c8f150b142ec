//! The embedded mode's annotation documents: the update log and snapshots in SQLite.

use async_trait::async_trait;

use super::{DocStore, MetaStore, NewUpdate, SqliteStore, StoreError, StoredDocument};

#[async_trait]
impl DocStore for SqliteStore {
    async fn append_updates(&self, updates: &[NewUpdate<'_>]) -> Result<Vec<i64>, StoreError> {
        let _writing = self.document_writes.lock().await;
        // One writer at a time (SQLite); sequence numbers count on per picture.
        let mut tx = self.pool.begin().await?;
        let now = super::times::now_micros();
        let mut logs: Vec<(&str, i64, i64)> = Vec::new(); // (picture, log key, last seq)
        let mut learned = Vec::new();
        let mut seqs = Vec::with_capacity(updates.len());
        for (i, u) in updates.iter().enumerate() {
            let (log, seq) = match logs.iter_mut().find(|l| l.0 == u.picture_id) {
                Some(l) => {
                    l.2 += 1;
                    (l.1, l.2)
                }
                None => {
                    sqlx::query("INSERT OR IGNORE INTO document_logs (picture_id) VALUES (?)")
                        .bind(u.picture_id)
                        .execute(&mut *tx)
                        .await?;
                    let (log, last): (i64, i64) = sqlx::query_as(
                        "SELECT l.id, COALESCE((SELECT MAX(seq) FROM document_log WHERE log = l.id), 0)
                         FROM document_logs l WHERE l.picture_id = ?",
                    )
                    .bind(u.picture_id)
                    .fetch_one(&mut *tx)
                    .await?;
                    logs.push((u.picture_id, log, last + 1));
                    (log, last + 1)
                }
            };
            let writer = self.writer(&mut tx, u, &mut learned).await?;
            // A microsecond apart, so that every update of a batch is its own moment.
            sqlx::query(
                "INSERT INTO document_log (log, seq, at, writer, restored_to, \"update\")
                 VALUES (?, ?, ?, ?, ?, ?)",
            )
            .bind(log)
            .bind(seq)
            .bind(now + i as i64)
            .bind(writer)
            .bind(u.restored_to)
            .bind(u.update)
            .execute(&mut *tx)
            .await?;
            seqs.push(seq);
        }
        tx.commit().await?;
        for (key, id) in learned {
            self.writers.put(key, id);
        }
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
            "SELECT seq, \"update\" FROM document_log
             WHERE log = (SELECT id FROM document_logs WHERE picture_id = ?) AND seq > ? ORDER BY seq",
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
        .bind(super::times::now_rfc3339())
        .bind(state)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    async fn document_gone(&self, picture_id: &str) -> Result<bool, StoreError> {
        Ok(self.picture(picture_id).await?.is_none())
    }
}
