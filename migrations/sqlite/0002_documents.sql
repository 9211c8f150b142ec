-- The annotation document of each picture: an append-only log of Yjs updates (with
-- time, author and order, enough to replay the history) and compacted snapshots.
CREATE TABLE document_updates (
    picture_id TEXT NOT NULL REFERENCES pictures (id) ON DELETE CASCADE,
    seq        INTEGER NOT NULL,
    at         TEXT NOT NULL,
    author     TEXT NOT NULL,
    role       TEXT NOT NULL,
    node       TEXT NOT NULL,
    "update"   BLOB NOT NULL,
    PRIMARY KEY (picture_id, seq)
);

CREATE TABLE document_snapshots (
    picture_id TEXT PRIMARY KEY REFERENCES pictures (id) ON DELETE CASCADE,
    upto_seq   INTEGER NOT NULL,
    at         TEXT NOT NULL,
    state      BLOB NOT NULL
);
