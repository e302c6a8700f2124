-- When the replay became playable (its first rendition published, pipeline/playable.go),
-- before the rest of its ladder; '' while it is not.

-- +goose Up
ALTER TABLE recordings ADD COLUMN playable_at TEXT NOT NULL DEFAULT '';

-- +goose Down
ALTER TABLE recordings DROP COLUMN playable_at;
