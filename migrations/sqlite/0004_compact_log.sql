-- A compact update log. Measured by scripts/bench-history, the log of 0002/0003 took 2.84×
-- the bytes of the updates it holds: every row repeated the picture id, the time as text,
-- the author's id, name and colour, the role and the node, in a rowid table with two
-- indexes. Here a picture's rows carry a small integer key (`document_logs`), who wrote
-- an update (author id, name, colour, role, node) is kept once (`document_writers`),
-- times are integers (µs since 1970) and rows live in their primary key's b-tree. Times
-- are found through the checkpoints (there is no index on them): see `seq_at`.
--
-- Checkpoints may be deltas: `base_seq` names the checkpoint a delta applies to (NULL for
-- a whole state), and the history index remembers the deltas' weight since the last
-- whole state (`chain_bytes`).
CREATE TABLE document_logs (
    id         INTEGER PRIMARY KEY,
    picture_id TEXT NOT NULL UNIQUE REFERENCES pictures (id) ON DELETE CASCADE
);

CREATE TABLE document_writers (
    id           INTEGER PRIMARY KEY,
    author_id    TEXT NOT NULL,
    author       TEXT NOT NULL,
    author_color TEXT NOT NULL,
    role         TEXT NOT NULL,
    node         TEXT NOT NULL,
    UNIQUE (author_id, author, author_color, role, node)
);

CREATE TABLE document_log (
    log         INTEGER NOT NULL REFERENCES document_logs (id) ON DELETE CASCADE,
    seq         INTEGER NOT NULL,
    at          INTEGER NOT NULL,
    writer      INTEGER NOT NULL,
    restored_to INTEGER,
    "update"    BLOB NOT NULL,
    PRIMARY KEY (log, seq)
) WITHOUT ROWID;

INSERT INTO document_logs (picture_id) SELECT DISTINCT picture_id FROM document_updates;
INSERT OR IGNORE INTO document_writers (author_id, author, author_color, role, node)
    SELECT DISTINCT author_id, author, author_color, role, node FROM document_updates;
INSERT INTO document_log (log, seq, at, writer, restored_to, "update")
    SELECT l.id, u.seq,
           unixepoch(substr(u.at, 1, 19)) * 1000000 + CAST(substr(u.at, 21, 6) AS INTEGER),
           w.id, u.restored_to, u."update"
    FROM document_updates u
    JOIN document_logs l ON l.picture_id = u.picture_id
    JOIN document_writers w ON w.author_id = u.author_id AND w.author = u.author
        AND w.author_color = u.author_color AND w.role = u.role AND w.node = u.node;
DROP TABLE document_updates;

ALTER TABLE document_checkpoints ADD COLUMN base_seq INTEGER;
ALTER TABLE document_history ADD COLUMN chain_bytes INTEGER NOT NULL DEFAULT 0;
