-- Annotation history: who wrote each logged update (a pseudonymous id per browser, its
-- name and colour at the time), restores, and what the history index derives from the
-- log: checkpoints kept by (picture, seq) (compressed; `encoding` says how), the activity
-- grouped by author and time, every change to each shape, and named versions. The log
-- itself is never rewritten.
ALTER TABLE document_updates ADD COLUMN author_id TEXT NOT NULL DEFAULT '';
ALTER TABLE document_updates ADD COLUMN author_color TEXT NOT NULL DEFAULT '';
ALTER TABLE document_updates ADD COLUMN restored_to BIGINT;
CREATE INDEX document_updates_at ON document_updates (picture_id, at);

CREATE TABLE document_checkpoints (
    picture_id TEXT NOT NULL REFERENCES pictures (id) ON DELETE CASCADE,
    seq        BIGINT NOT NULL,
    state      BYTEA NOT NULL,
    encoding   TEXT NOT NULL DEFAULT 'v1',
    PRIMARY KEY (picture_id, seq)
);

CREATE TABLE document_history (
    picture_id       TEXT PRIMARY KEY REFERENCES pictures (id) ON DELETE CASCADE,
    indexed_seq      BIGINT NOT NULL,
    since_checkpoint BIGINT NOT NULL,
    bytes_since      BIGINT NOT NULL DEFAULT 0,
    checkpoint_bytes BIGINT NOT NULL DEFAULT 0
);

CREATE TABLE document_activity (
    picture_id     TEXT NOT NULL REFERENCES pictures (id) ON DELETE CASCADE,
    from_seq       BIGINT NOT NULL,
    to_seq         BIGINT NOT NULL,
    from_at        TIMESTAMPTZ NOT NULL,
    to_at          TIMESTAMPTZ NOT NULL,
    author_id      TEXT NOT NULL,
    author         TEXT NOT NULL,
    author_color   TEXT NOT NULL,
    restored_to    BIGINT,
    updates        BIGINT NOT NULL,
    comments       BIGINT NOT NULL,
    added_ids      TEXT NOT NULL,
    changed_ids    TEXT NOT NULL,
    deleted_ids    TEXT NOT NULL,
    PRIMARY KEY (picture_id, from_seq)
);
CREATE INDEX document_activity_recent ON document_activity (picture_id, to_seq);

CREATE TABLE document_shape_changes (
    picture_id TEXT NOT NULL REFERENCES pictures (id) ON DELETE CASCADE,
    shape_id   TEXT NOT NULL,
    seq        BIGINT NOT NULL,
    after      TEXT,
    PRIMARY KEY (picture_id, shape_id, seq)
);

CREATE TABLE document_versions (
    picture_id   TEXT NOT NULL REFERENCES pictures (id) ON DELETE CASCADE,
    id           TEXT NOT NULL,
    name         TEXT NOT NULL,
    seq          BIGINT NOT NULL,
    created_at   TIMESTAMPTZ NOT NULL,
    author_id    TEXT NOT NULL,
    author       TEXT NOT NULL,
    author_color TEXT NOT NULL,
    PRIMARY KEY (picture_id, id)
);
