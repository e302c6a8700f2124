-- Each tag carries the lowest and highest version its replay documents for the tag's software
-- (the replay's own tags and its chapters'), kept by triggers on replay_tags, so that for= checks
-- "every tag of the software in range" on the tag's own index entry instead of probing the
-- replay's other tags for each candidate. (Same change as migrations/postgres/00006.)

-- +goose Up
ALTER TABLE replay_tags ADD COLUMN min_version_key TEXT;
ALTER TABLE replay_tags ADD COLUMN max_version_key TEXT;
UPDATE replay_tags SET (min_version_key, max_version_key) = (SELECT MIN(x.version_key), MAX(x.version_key) FROM replay_tags x
	WHERE x.replay_id = replay_tags.replay_id AND x.software_id = replay_tags.software_id);
-- The triggers' own updates change no column they watch, so they do not fire them again.
-- +goose StatementBegin
CREATE TRIGGER replay_tags_span_insert AFTER INSERT ON replay_tags BEGIN
	UPDATE replay_tags SET (min_version_key, max_version_key) = (SELECT MIN(x.version_key), MAX(x.version_key) FROM replay_tags x
		WHERE x.replay_id = NEW.replay_id AND x.software_id = NEW.software_id)
	WHERE replay_id = NEW.replay_id AND software_id = NEW.software_id;
END;
-- +goose StatementEnd
-- +goose StatementBegin
CREATE TRIGGER replay_tags_span_delete AFTER DELETE ON replay_tags BEGIN
	UPDATE replay_tags SET (min_version_key, max_version_key) = (SELECT MIN(x.version_key), MAX(x.version_key) FROM replay_tags x
		WHERE x.replay_id = OLD.replay_id AND x.software_id = OLD.software_id)
	WHERE replay_id = OLD.replay_id AND software_id = OLD.software_id;
END;
-- +goose StatementEnd
-- +goose StatementBegin
CREATE TRIGGER replay_tags_span_update AFTER UPDATE OF replay_id, software_id, version_key ON replay_tags BEGIN
	UPDATE replay_tags SET (min_version_key, max_version_key) = (SELECT MIN(x.version_key), MAX(x.version_key) FROM replay_tags x
		WHERE x.replay_id = OLD.replay_id AND x.software_id = OLD.software_id)
	WHERE replay_id = OLD.replay_id AND software_id = OLD.software_id;
	UPDATE replay_tags SET (min_version_key, max_version_key) = (SELECT MIN(x.version_key), MAX(x.version_key) FROM replay_tags x
		WHERE x.replay_id = NEW.replay_id AND x.software_id = NEW.software_id)
	WHERE replay_id = NEW.replay_id AND software_id = NEW.software_id;
END;
-- +goose StatementEnd
DROP INDEX replay_tags_for;
CREATE INDEX replay_tags_for ON replay_tags (software_id, version_key, publication, replay_seq, min_version_key, max_version_key);
DROP INDEX replay_tags_published;
CREATE INDEX replay_tags_published ON replay_tags (software_id, publication, published_at, replay_seq, version_key, language, freshness,
	min_version_key, max_version_key);

-- +goose Down
DROP INDEX replay_tags_published;
CREATE INDEX replay_tags_published ON replay_tags (software_id, publication, published_at, replay_seq, version_key, language, freshness);
DROP INDEX replay_tags_for;
CREATE INDEX replay_tags_for ON replay_tags (software_id, version_key, publication, replay_seq);
DROP TRIGGER replay_tags_span_update;
DROP TRIGGER replay_tags_span_delete;
DROP TRIGGER replay_tags_span_insert;
ALTER TABLE replay_tags DROP COLUMN max_version_key;
ALTER TABLE replay_tags DROP COLUMN min_version_key;
