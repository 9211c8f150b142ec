-- Pictures, their capability tokens (hashed), and tus uploads.
CREATE TABLE pictures (
    id           TEXT PRIMARY KEY,
    status       TEXT NOT NULL,
    title        TEXT NOT NULL DEFAULT '',
    description  TEXT NOT NULL DEFAULT '',
    width        BIGINT,
    height       BIGINT,
    error        TEXT,
    created_at   TEXT NOT NULL,
    stage        TEXT,
    done         BIGINT NOT NULL DEFAULT 0,
    total        BIGINT NOT NULL DEFAULT 0,
    tile_format  TEXT,
    source_name  TEXT NOT NULL DEFAULT '',
    source_bytes BIGINT NOT NULL DEFAULT 0
);
CREATE INDEX pictures_created ON pictures (created_at DESC);

CREATE TABLE tokens (
    hash       TEXT PRIMARY KEY,
    picture_id TEXT NOT NULL REFERENCES pictures (id) ON DELETE CASCADE,
    role       TEXT NOT NULL
);
CREATE INDEX tokens_picture ON tokens (picture_id);

CREATE TABLE uploads (
    id         TEXT PRIMARY KEY,
    length     BIGINT NOT NULL,
    "offset"   BIGINT NOT NULL DEFAULT 0,
    metadata   TEXT NOT NULL DEFAULT '',
    created_at TEXT NOT NULL,
    expires_at BIGINT NOT NULL,
    owner_hash TEXT NOT NULL,
    picture_id TEXT
);
