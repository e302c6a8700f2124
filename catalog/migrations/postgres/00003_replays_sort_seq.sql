-- Every list is ordered by a column and then by seq (ties), and SQLite's indexes end in the rowid
-- (seq) by themselves. PostgreSQL's do not: a page deep in a sort (sort=title&offset=7000) read
-- the column's index, then every row it skipped to sort the ties by seq (incremental sort, 7 367
-- buffers, 464 ms at load 15). With seq in the index the same page is an index-only walk
-- (277 buffers). Each sort index of replays therefore ends in seq, as on SQLite.

-- +goose Up
DROP INDEX replays_publication;
CREATE INDEX replays_publication ON replays (publication, published_at, seq);
DROP INDEX replays_language;
CREATE INDEX replays_language ON replays (publication, language, published_at, seq);
DROP INDEX replays_freshness;
CREATE INDEX replays_freshness ON replays (publication, freshness, published_at, seq);
DROP INDEX replays_title;
CREATE INDEX replays_title ON replays (publication, title, seq);
DROP INDEX replays_duration;
CREATE INDEX replays_duration ON replays (publication, duration_ms, seq);
DROP INDEX replays_created;
CREATE INDEX replays_created ON replays (created_at, seq);
DROP INDEX replays_workshop;
CREATE INDEX replays_workshop ON replays (workshop_id, publication, published_at, seq);

-- +goose Down
DROP INDEX replays_publication;
CREATE INDEX replays_publication ON replays (publication, published_at);
DROP INDEX replays_language;
CREATE INDEX replays_language ON replays (publication, language, published_at);
DROP INDEX replays_freshness;
CREATE INDEX replays_freshness ON replays (publication, freshness, published_at);
DROP INDEX replays_title;
CREATE INDEX replays_title ON replays (publication, title);
DROP INDEX replays_duration;
CREATE INDEX replays_duration ON replays (publication, duration_ms);
DROP INDEX replays_created;
CREATE INDEX replays_created ON replays (created_at);
DROP INDEX replays_workshop;
CREATE INDEX replays_workshop ON replays (workshop_id, publication, published_at);
