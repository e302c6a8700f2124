-- The schedule schema on PostgreSQL: what SQLite reaches through the legacy steps (store.go),
-- with the same column types (times as sqldb.TimeFormat text, lists as JSON text).

-- +goose Up
CREATE TABLE workshops (
	id TEXT PRIMARY KEY,
	uid TEXT NOT NULL UNIQUE,
	title TEXT NOT NULL,
	description TEXT NOT NULL DEFAULT '',
	starts_at TEXT NOT NULL,
	timezone TEXT NOT NULL,
	duration TEXT NOT NULL,
	recurrence TEXT NOT NULL DEFAULT '',
	exdates TEXT NOT NULL DEFAULT '[]',
	location TEXT NOT NULL DEFAULT '',
	language TEXT NOT NULL DEFAULT '',
	animator TEXT NOT NULL DEFAULT '',
	capacity INTEGER NOT NULL DEFAULT 0,
	registration_url TEXT NOT NULL DEFAULT '',
	series TEXT NOT NULL DEFAULT '',
	documents TEXT NOT NULL DEFAULT '[]',
	status TEXT NOT NULL,
	sequence INTEGER NOT NULL DEFAULT 0,
	replay_id TEXT NOT NULL DEFAULT '',
	source_uid TEXT NOT NULL DEFAULT '',
	first_start TEXT NOT NULL,
	last_end TEXT,
	created_at TEXT NOT NULL,
	updated_at TEXT NOT NULL,
	cancelled_at TEXT,
	deleted_at TEXT,
	rdates TEXT NOT NULL DEFAULT '[]'
);
CREATE INDEX workshops_first_start ON workshops (first_start);
CREATE INDEX workshops_series ON workshops (series, updated_at);
CREATE INDEX workshops_source_uid ON workshops (source_uid);
CREATE TABLE workshop_software (
	workshop_id TEXT NOT NULL REFERENCES workshops (id) ON DELETE CASCADE,
	software TEXT NOT NULL,
	PRIMARY KEY (software, workshop_id)
);
CREATE INDEX workshop_software_workshop ON workshop_software (workshop_id);
CREATE INDEX workshops_feed_validator ON workshops (cancelled_at, updated_at, sequence, series, id, last_end);
CREATE INDEX workshops_feed_entries ON workshops (first_start, id, cancelled_at, sequence, updated_at, last_end);

-- What SQLite's PRAGMA data_version is to the feed validators (Store.DataVersion): a number
-- that moves with every committed write to the workshops, by any process sharing the database.
CREATE TABLE schedule_changes (n BIGINT NOT NULL);
INSERT INTO schedule_changes (n) VALUES (0);
-- +goose StatementBegin
CREATE FUNCTION schedule_changed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
	UPDATE schedule_changes SET n = n + 1;
	RETURN NULL;
END $$;
-- +goose StatementEnd
CREATE TRIGGER workshops_changed AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON workshops
	FOR EACH STATEMENT EXECUTE FUNCTION schedule_changed();
CREATE TRIGGER workshop_software_changed AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON workshop_software
	FOR EACH STATEMENT EXECUTE FUNCTION schedule_changed();
