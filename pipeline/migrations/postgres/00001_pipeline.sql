-- The pipeline's recordings on PostgreSQL: what SQLite reaches through the legacy steps
-- (store.go), with the same columns (times as sqldb.TimeFormat text, lists as JSON text,
-- booleans as INTEGER 0/1).

-- +goose Up
CREATE TABLE recordings (
	id TEXT PRIMARY KEY,
	status TEXT NOT NULL,
	meta TEXT NOT NULL,
	cut_mode TEXT NOT NULL,
	source_key TEXT NOT NULL,
	source_size BIGINT NOT NULL DEFAULT 0,
	source_sha256 TEXT NOT NULL DEFAULT '',
	source_ms BIGINT NOT NULL DEFAULT 0,
	requested TEXT NOT NULL DEFAULT '[]',
	actual TEXT NOT NULL DEFAULT '[]',
	replay_ms BIGINT NOT NULL DEFAULT 0,
	subtitles TEXT NOT NULL DEFAULT '[]',
	stage TEXT NOT NULL DEFAULT '',
	progress DOUBLE PRECISION NOT NULL DEFAULT 0,
	speed DOUBLE PRECISION NOT NULL DEFAULT 0,
	eta_seconds BIGINT,
	error TEXT NOT NULL DEFAULT '',
	outputs TEXT NOT NULL DEFAULT '[]',
	job_id BIGINT NOT NULL DEFAULT 0,
	attempts INTEGER NOT NULL DEFAULT 0,
	cancel_requested INTEGER NOT NULL DEFAULT 0,
	created_by TEXT NOT NULL DEFAULT '',
	created_at TEXT NOT NULL,
	updated_at TEXT NOT NULL,
	heartbeat_at TEXT NOT NULL DEFAULT '',
	finished_at TEXT NOT NULL DEFAULT '',
	plan TEXT NOT NULL DEFAULT '',
	owner_token_id BIGINT NOT NULL DEFAULT 0
);
CREATE INDEX recordings_status ON recordings (status);
-- list: newest first (SQLite sorts its few thousand rows; PostgreSQL gets an index).
CREATE INDEX recordings_created ON recordings (created_at, id);
