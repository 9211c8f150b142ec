-- Each picture's authors with their update counts, kept by the history's index as it
-- takes in the log (the activity page lists them), instead of grouping every activity
-- entry of the picture on each request.
CREATE TABLE document_authors (
    picture_id   TEXT NOT NULL REFERENCES pictures (id) ON DELETE CASCADE,
    author_id    TEXT NOT NULL,
    author       TEXT NOT NULL,
    author_color TEXT NOT NULL,
    updates      INTEGER NOT NULL,
    latest_seq   INTEGER NOT NULL,
    PRIMARY KEY (picture_id, author_id)
) WITHOUT ROWID;

-- SQLite takes the bare columns from the row that has the MAX: the latest name.
INSERT INTO document_authors (picture_id, author_id, author, author_color, updates, latest_seq)
SELECT picture_id, author_id, author, author_color, SUM(updates), MAX(to_seq)
FROM document_activity
GROUP BY picture_id, author_id;
