//! The distributed mode's annotation documents: the update log and snapshots in
//! PostgreSQL.

use async_trait::async_trait;

use super::{DocStore, MetaStore, NewUpdate, PostgresStore, StoreError, StoredDocument};

#[async_trait]
impl DocStore for PostgresStore {
    async fn append_updates(&self, updates: &[NewUpdate<'_>]) -> Result<Vec<i64>, StoreError> {
        let mut client = self.pool.get().await?;
        let tx = client.transaction().await?;
        // Sequence numbers are taken at insert and committed later: with several nodes
        // writing, a lower one could commit after a higher one, and a reader of the
        // history would miss it. One writer per picture at a time (a transaction-scoped
        // advisory lock, taken in a fixed order) makes a picture's commit order its seq
        // order.
        let mut pictures: Vec<&str> = updates.iter().map(|u| u.picture_id).collect();
        pictures.sort_unstable();
        pictures.dedup();
        // One statement each for every picture of the batch: a batch of a hundred rooms'
        // edits took three round trips per picture before its first insert. The array is
        // sorted, and a function scan returns its rows in order: the locks are taken in
        // a fixed order.
        tx.execute(
            "SELECT pg_advisory_xact_lock(hashtextextended('hugepic:doc:' || p, 0))
             FROM unnest($1::text[]) AS p",
            &[&pictures],
        )
        .await?;
        tx.execute(
            "INSERT INTO document_logs (picture_id) SELECT unnest($1::text[]) ON CONFLICT DO NOTHING",
            &[&pictures],
        )
        .await?;
        let logs: Vec<(String, i32)> = tx
            .query(
                "SELECT picture_id, id FROM document_logs WHERE picture_id = ANY($1)",
                &[&pictures],
            )
            .await?
            .iter()
            .map(|row| (row.get(0), row.get(1)))
            .collect();
        // Who wrote each update: known ids from memory, new writers added (their rows
        // are this node's own: the node is part of a writer, so no two nodes add the same).
        let mut learned: Vec<(super::history::WriterKey, i32)> = Vec::new();
        let mut writers = Vec::with_capacity(updates.len());
        for u in updates {
            let key = super::history::Writers::key(u);
            let known = self
                .writers
                .get(&key)
                .and_then(|id| i32::try_from(id).ok())
                .or_else(|| learned.iter().find(|(k, _)| *k == key).map(|(_, id)| *id));
            let id = match known {
                Some(id) => id,
                None => {
                    tx.execute(
                        "INSERT INTO document_writers (author_id, author, author_color, role, node)
                         VALUES ($1, $2, $3, $4, $5) ON CONFLICT DO NOTHING",
                        &[&key.0, &key.1, &key.2, &key.3, &key.4],
                    )
                    .await?;
                    let id: i32 = tx
                        .query_one(
                            "SELECT id FROM document_writers WHERE author_id = $1 AND author = $2
                             AND author_color = $3 AND role = $4 AND node = $5",
                            &[&key.0, &key.1, &key.2, &key.3, &key.4],
                        )
                        .await?
                        .get(0);
                    learned.push((key, id));
                    id
                }
            };
            writers.push(id);
        }
        let insert = tx
            .prepare_cached(
                "INSERT INTO document_log (log, writer, restored_to, \"update\")
                 VALUES ($1, $2, $3, $4) RETURNING seq",
            )
            .await?;
        let keys: Vec<i32> = updates
            .iter()
            .map(|u| {
                logs.iter()
                    .find(|(p, _)| *p == u.picture_id)
                    .map_or(0, |(_, id)| *id)
            })
            .collect();
        // Pipelined on the connection, sent (and numbered) in order.
        let params: Vec<[&(dyn tokio_postgres::types::ToSql + Sync); 4]> = updates
            .iter()
            .zip(keys.iter().zip(&writers))
            .map(|(u, (log, writer))| {
                [
                    log as &(dyn tokio_postgres::types::ToSql + Sync),
                    writer,
                    &u.restored_to,
                    &u.update,
                ]
            })
            .collect();
        let rows =
            futures_util::future::try_join_all(params.iter().map(|p| tx.query_one(&insert, p)))
                .await?;
        tx.commit().await?;
        for (key, id) in learned {
            self.writers.put(key, i64::from(id));
        }
        Ok(rows.iter().map(|r| r.get::<_, i64>(0)).collect())
    }

    async fn load_document(&self, picture_id: &str) -> Result<StoredDocument, StoreError> {
        let client = self.pool.get().await?;
        let snapshot = client
            .query_opt(
                "SELECT state, upto_seq FROM document_snapshots WHERE picture_id = $1",
                &[&picture_id],
            )
            .await?
            .map(|r| (r.get::<_, Vec<u8>>(0), r.get::<_, i64>(1)));
        let after = snapshot.as_ref().map_or(0, |s| s.1);
        // Sequence numbers are taken when an insert starts, so with several nodes
        // writing, a lower one can commit after a snapshot read a higher one. Updates
        // from shortly before the snapshot are read again (applying twice is harmless).
        let updates = client
            .query(
                "WITH l AS (SELECT id FROM document_logs WHERE picture_id = $1)
                 SELECT seq, \"update\"
                 FROM document_log_range((SELECT id FROM l), $2, 9223372036854775807)
                 UNION ALL
                 SELECT seq, \"update\"
                 FROM document_log_range((SELECT id FROM l), -1, $2,
                     (SELECT at FROM document_snapshots WHERE picture_id = $1) - interval '30 seconds')
                 ORDER BY seq",
                &[&picture_id, &after],
            )
            .await?
            .iter()
            .map(|r| (r.get::<_, i64>(0), r.get::<_, Vec<u8>>(1)))
            .collect();
        Ok(StoredDocument { snapshot, updates })
    }

    async fn save_snapshot(
        &self,
        picture_id: &str,
        state: &[u8],
        upto_seq: i64,
    ) -> Result<(), StoreError> {
        let client = self.pool.get().await?;
        client
            .execute(
                "INSERT INTO document_snapshots (picture_id, upto_seq, state) VALUES ($1, $2, $3)
                 ON CONFLICT (picture_id) DO UPDATE SET upto_seq = excluded.upto_seq, at = now(), state = excluded.state
                 WHERE excluded.upto_seq >= document_snapshots.upto_seq",
                &[&picture_id, &upto_seq, &state],
            )
            .await?;
        Ok(())
    }

    async fn document_gone(&self, picture_id: &str) -> Result<bool, StoreError> {
        Ok(self.picture(picture_id).await?.is_none())
    }
}
