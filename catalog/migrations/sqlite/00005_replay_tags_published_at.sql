-- Tags carry a copy of their replay's published_at too, so that a list the tags select (software=,
-- for=) takes its page from the tags in publication order: (software_id, publication,
-- published_at, replay_seq) walked from the newest, the rest of the condition read from the same
-- index entries, instead of sorting the selected set by reading every candidate's replay row or
-- walking the replays newest first with a tag probe per replay. The triggers that keep the other
-- copies in step keep this one too. (Same change as migrations/postgres/00005.)

-- +goose Up
ALTER TABLE replay_tags ADD COLUMN published_at TEXT;
UPDATE replay_tags SET published_at = (SELECT published_at FROM replays WHERE replays.id = replay_tags.replay_id);
DROP TRIGGER replay_tags_copy;
-- +goose StatementBegin
CREATE TRIGGER replay_tags_copy AFTER INSERT ON replay_tags BEGIN
	UPDATE replay_tags SET (publication, language, freshness, published_at) =
		(SELECT publication, language, freshness, published_at FROM replays WHERE replays.id = NEW.replay_id)
	WHERE rowid = NEW.rowid;
END;
-- +goose StatementEnd
DROP TRIGGER replays_tag_copies;
-- +goose StatementBegin
CREATE TRIGGER replays_tag_copies AFTER UPDATE OF publication, language, freshness, published_at ON replays
WHEN OLD.publication IS NOT NEW.publication OR OLD.language IS NOT NEW.language OR OLD.freshness IS NOT NEW.freshness
	OR OLD.published_at IS NOT NEW.published_at
BEGIN
	UPDATE replay_tags SET publication = NEW.publication, language = NEW.language, freshness = NEW.freshness,
		published_at = NEW.published_at
	WHERE replay_id = NEW.id;
END;
-- +goose StatementEnd
CREATE INDEX replay_tags_published ON replay_tags (software_id, publication, published_at, replay_seq, version_key, language, freshness);

-- +goose Down
DROP INDEX replay_tags_published;
DROP TRIGGER replays_tag_copies;
-- +goose StatementBegin
CREATE TRIGGER replays_tag_copies AFTER UPDATE OF publication, language, freshness ON replays
WHEN OLD.publication IS NOT NEW.publication OR OLD.language IS NOT NEW.language OR OLD.freshness IS NOT NEW.freshness
BEGIN
	UPDATE replay_tags SET publication = NEW.publication, language = NEW.language, freshness = NEW.freshness
	WHERE replay_id = NEW.id;
END;
-- +goose StatementEnd
DROP TRIGGER replay_tags_copy;
-- +goose StatementBegin
CREATE TRIGGER replay_tags_copy AFTER INSERT ON replay_tags BEGIN
	UPDATE replay_tags SET (publication, language, freshness) =
		(SELECT publication, language, freshness FROM replays WHERE replays.id = NEW.replay_id)
	WHERE rowid = NEW.rowid;
END;
-- +goose StatementEnd
ALTER TABLE replay_tags DROP COLUMN published_at;
