-- replay_fts on PostgreSQL keeps only what searches read: the key, the publication and doc. The
-- text columns of 00001 (a copy of SQLite's FTS5 columns) were written on every change and never
-- read; at 100 000 replays they made each row ~2 KB, four to a page. A broad search (q=partage
-- fich) counts its first 2 001 matches by walking replay_fts in rowid order and testing doc on
-- every row it passes (~7 200): 4 501 buffers for that walk with the text columns, 830 without
-- (measured on the benchmark catalog). The table is rebuilt rather than altered, as a dropped
-- column keeps its bytes in every row until the row is rewritten.

-- +goose Up
ALTER TABLE replay_fts RENAME TO replay_fts_wide;
ALTER INDEX replay_fts_pkey RENAME TO replay_fts_wide_pkey;
ALTER INDEX replay_fts_doc RENAME TO replay_fts_wide_doc;
ALTER INDEX replay_fts_publication RENAME TO replay_fts_wide_publication;
ALTER TABLE replay_fts_wide RENAME CONSTRAINT replay_fts_rowid_fkey TO replay_fts_wide_rowid_fkey;
CREATE TABLE replay_fts (
	rowid BIGINT PRIMARY KEY REFERENCES replays(seq) ON DELETE CASCADE,
	publication TEXT NOT NULL DEFAULT '',
	doc tsvector NOT NULL DEFAULT ''::tsvector
);
INSERT INTO replay_fts (rowid, publication, doc) SELECT rowid, publication, doc FROM replay_fts_wide;
DROP TABLE replay_fts_wide;
CREATE INDEX replay_fts_doc ON replay_fts USING GIN (doc);
CREATE INDEX replay_fts_publication ON replay_fts (publication, rowid);
ANALYZE replay_fts;

-- +goose Down
-- The old columns come back empty: nothing read them.
ALTER TABLE replay_fts ADD COLUMN title TEXT NOT NULL DEFAULT '';
ALTER TABLE replay_fts ADD COLUMN description TEXT NOT NULL DEFAULT '';
ALTER TABLE replay_fts ADD COLUMN chapters TEXT NOT NULL DEFAULT '';
ALTER TABLE replay_fts ADD COLUMN subtitles TEXT NOT NULL DEFAULT '';
