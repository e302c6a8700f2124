-- Tags carry a copy of their replay's published_at too, so that a list the tags select (software=,
-- for=) takes its page from the tags in publication order: (software_id, publication,
-- published_at, replay_seq) walked from the newest, the rest of the condition read from the same
-- index entries. Before, the page of for= sorted the whole selected set by reading every
-- candidate's replay row, or walked the replays newest first with a tag probe per replay: ~3 000
-- buffers per page of 50 at 100 000 replays (for=, software=&status=, software=&language=).
-- The triggers that keep the other copies in step keep this one too.

-- +goose Up
ALTER TABLE replay_tags ADD COLUMN published_at TEXT;
UPDATE replay_tags t SET published_at = rp.published_at FROM replays rp
WHERE rp.id = t.replay_id AND rp.published_at IS NOT NULL;
-- +goose StatementBegin
CREATE OR REPLACE FUNCTION replay_tags_copy() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
	SELECT publication, language, freshness, published_at
	INTO NEW.publication, NEW.language, NEW.freshness, NEW.published_at
	FROM replays WHERE id = NEW.replay_id;
	RETURN NEW;
END $$;
-- +goose StatementEnd
-- +goose StatementBegin
CREATE OR REPLACE FUNCTION replays_tag_copies() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
	UPDATE replay_tags SET publication = NEW.publication, language = NEW.language, freshness = NEW.freshness,
		published_at = NEW.published_at
	WHERE replay_id = NEW.id;
	RETURN NULL;
END $$;
-- +goose StatementEnd
DROP TRIGGER replays_tag_copies ON replays;
CREATE TRIGGER replays_tag_copies AFTER UPDATE OF publication, language, freshness, published_at ON replays FOR EACH ROW
	WHEN (OLD.publication IS DISTINCT FROM NEW.publication OR OLD.language IS DISTINCT FROM NEW.language
		OR OLD.freshness IS DISTINCT FROM NEW.freshness OR OLD.published_at IS DISTINCT FROM NEW.published_at)
	EXECUTE FUNCTION replays_tag_copies();
CREATE INDEX replay_tags_published ON replay_tags (software_id, publication, published_at, replay_seq, version_key, language, freshness);
ANALYZE replay_tags;

-- +goose Down
DROP INDEX replay_tags_published;
DROP TRIGGER replays_tag_copies ON replays;
CREATE TRIGGER replays_tag_copies AFTER UPDATE OF publication, language, freshness ON replays FOR EACH ROW
	WHEN (OLD.publication IS DISTINCT FROM NEW.publication OR OLD.language IS DISTINCT FROM NEW.language
		OR OLD.freshness IS DISTINCT FROM NEW.freshness)
	EXECUTE FUNCTION replays_tag_copies();
-- +goose StatementBegin
CREATE OR REPLACE FUNCTION replays_tag_copies() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
	UPDATE replay_tags SET publication = NEW.publication, language = NEW.language, freshness = NEW.freshness
	WHERE replay_id = NEW.id;
	RETURN NULL;
END $$;
-- +goose StatementEnd
-- +goose StatementBegin
CREATE OR REPLACE FUNCTION replay_tags_copy() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
	SELECT publication, language, freshness INTO NEW.publication, NEW.language, NEW.freshness
	FROM replays WHERE id = NEW.replay_id;
	RETURN NEW;
END $$;
-- +goose StatementEnd
ALTER TABLE replay_tags DROP COLUMN published_at;
