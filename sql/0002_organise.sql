-- Organising tasks: priority, due date, tags, completion time, and what search and sorting read.
-- Existing rows keep their meaning: priority none, no due date, no tags, and a completed task is
-- taken to have been completed when it was last changed.

-- Search and tag filters use GIN indexes that lead with user_id (btree_gin) over trigrams
-- (pg_trgm), so a rare or mistyped term is found from the index instead of by reading every one of
-- the user's tasks. Both ship with PostgreSQL (contrib) and are trusted: a database owner may
-- create them.
CREATE EXTENSION IF NOT EXISTS pg_trgm;
CREATE EXTENSION IF NOT EXISTS btree_gin;

-- One definition of "ignoring case" for search, title order and tags, used by the generated
-- columns and by the queries alike, so the two can never disagree. ICU lower-cases every script;
-- a server built without ICU falls back to the database's own lower() (ASCII only under locale C).
DO $$
BEGIN
    IF EXISTS (SELECT 1 FROM pg_collation WHERE collname = 'und-x-icu') THEN
        CREATE FUNCTION task_fold(t text) RETURNS text
            LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
            RETURN lower(t COLLATE "und-x-icu");
    ELSE
        CREATE FUNCTION task_fold(t text) RETURNS text
            LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
            RETURN lower(t);
    END IF;
END
$$;

CREATE FUNCTION task_fold(t text[]) RETURNS text[]
    LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
    RETURN ARRAY(SELECT task_fold(x) FROM unnest(t) AS x);

-- priority: 0 none, 1 low, 2 medium, 3 high, so "high first" is a plain descending order.
ALTER TABLE tasks
    ADD COLUMN priority smallint NOT NULL DEFAULT 0 CHECK (priority BETWEEN 0 AND 3),
    ADD COLUMN due_at timestamptz,
    ADD COLUMN tags text[] NOT NULL DEFAULT '{}' CHECK (cardinality(tags) <= 20),
    ADD COLUMN completed_at timestamptz,
    ADD COLUMN title_key text GENERATED ALWAYS AS (task_fold(title)) STORED,
    -- A search term holds no whitespace, so it cannot match across the newline between the two.
    ADD COLUMN search_key text
        GENERATED ALWAYS AS (task_fold(title || E'\n' || coalesce(description, ''))) STORED,
    ADD COLUMN tag_keys text[] GENERATED ALWAYS AS (task_fold(tags)) STORED;

UPDATE tasks SET completed_at = updated_at WHERE completed;

-- One index per sort, each leading with user_id; a filter that keeps many rows rides along the
-- chosen order, one that keeps few is found through the GIN indexes.
CREATE INDEX tasks_user_updated_idx ON tasks (user_id, updated_at DESC, id DESC);
CREATE INDEX tasks_user_priority_idx ON tasks (user_id, priority DESC, created_at DESC, id DESC);
CREATE INDEX tasks_user_due_idx ON tasks (user_id, coalesce(due_at, 'infinity'), id);
CREATE INDEX tasks_user_title_idx ON tasks (user_id, title_key, id);
CREATE INDEX tasks_user_search_idx ON tasks USING gin (user_id, search_key gin_trgm_ops);
CREATE INDEX tasks_user_tags_idx ON tasks USING gin (user_id, tag_keys);
