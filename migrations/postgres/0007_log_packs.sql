-- Packs of the update log. In PostgreSQL a row of `document_log` costs about 80 bytes
-- beyond its update (tuple header and line pointer, the fixed columns, a primary-key
-- entry), on updates of about 115 bytes: measured by scripts/bench-history, the log
-- took 1.76× the bytes of the updates it holds. Once a checkpoint covers a stretch of
-- the log, the history's indexer moves that stretch (the updates since the previous
-- checkpoint, up to 500 by default) into one row here, in the same transaction: the
-- same updates with the same seqs, times, writers and restore marks, as parallel arrays
-- in seq order, which PostgreSQL compresses (TOAST). Nothing is changed or dropped:
-- `document_log_range` reads both tables as one log. An update whose seq was taken
-- before a pack was made but which committed after it stays a row of `document_log`.
CREATE TABLE document_log_packs (
    log       INTEGER NOT NULL REFERENCES document_logs (id) ON DELETE CASCADE,
    first_seq BIGINT NOT NULL,
    last_seq  BIGINT NOT NULL,
    last_at   TIMESTAMPTZ NOT NULL,
    writers   INTEGER[] NOT NULL,
    seqs      BIGINT[] NOT NULL,
    ats       TIMESTAMPTZ[] NOT NULL,
    restored  BIGINT[] NOT NULL,
    updates   BYTEA[] NOT NULL,
    PRIMARY KEY (log, last_seq)
);

-- The log of `log_id` with seq in (`after_seq`, `upto_seq`] and time at or after
-- `since_at`, from both tables, in no particular order (callers sort by seq).
CREATE FUNCTION document_log_range(log_id INTEGER, after_seq BIGINT, upto_seq BIGINT,
                                   since_at TIMESTAMPTZ DEFAULT '-infinity')
RETURNS TABLE (writer INTEGER, seq BIGINT, at TIMESTAMPTZ, restored_to BIGINT, "update" BYTEA)
LANGUAGE sql STABLE AS $$
    SELECT u.writer, u.seq, u.at, u.restored_to, u."update" FROM document_log u
    WHERE u.log = log_id AND u.seq > after_seq AND u.seq <= upto_seq AND u.at >= since_at
    UNION ALL
    SELECT x.writer, x.seq, x.at, x.restored_to, x."update"
    FROM document_log_packs p,
         unnest(p.writers, p.seqs, p.ats, p.restored, p.updates)
             AS x (writer, seq, at, restored_to, "update")
    WHERE p.log = log_id AND p.last_seq > after_seq AND p.first_seq <= upto_seq AND p.last_at >= since_at
      AND x.seq > after_seq AND x.seq <= upto_seq AND x.at >= since_at
$$;

-- A checkpoint's time (its last update's) is kept with it: finding a moment by time
-- reads the checkpoints' times, which would otherwise each unpack a pack.
ALTER TABLE document_checkpoints ADD COLUMN at TIMESTAMPTZ;
UPDATE document_checkpoints c SET at = u.at
FROM document_logs l JOIN document_log u ON u.log = l.id
WHERE l.picture_id = c.picture_id AND u.seq = c.seq;
