-- Toggles as HOT updates. A toggle changes `completed`, `updated_at` and `change_no`; while any
-- index of `tasks` holds one of them, PostgreSQL cannot update the row in place (HOT) and every
-- index of the table, both GIN ones too, takes a new entry: a quarter of a toggle's time in
-- PostgreSQL, and most of W1's p99 (README, "Benchmarks").
--
-- The two orders that follow every write move to a narrow table of their own, one row per task,
-- kept by the numbering trigger: `sort=updated_desc` (its index) and the sync feed (its primary
-- key). A write then updates one small row with two index entries instead of adding nine.
CREATE TABLE task_order (
    owner      uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    change_no  bigint NOT NULL,
    -- The task's updated_at (a name of its own: the two tables are read joined).
    touched_at timestamptz NOT NULL,
    task_id    bigint NOT NULL,
    PRIMARY KEY (owner, change_no)
);
CREATE INDEX task_order_updated_idx ON task_order (owner, touched_at DESC, task_id DESC);

INSERT INTO task_order (owner, change_no, touched_at, task_id)
SELECT user_id, change_no, updated_at, id FROM tasks;

DROP INDEX tasks_user_updated_idx;
DROP INDEX tasks_user_change_idx;
-- Without `completed`, which a toggle changes; no list scans this index alone.
DROP INDEX tasks_user_created_idx;
CREATE INDEX tasks_user_created_idx ON tasks (user_id, created_at DESC, id DESC);

CREATE OR REPLACE FUNCTION task_change() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    uid uuid := CASE WHEN TG_OP = 'DELETE' THEN OLD.user_id ELSE NEW.user_id END;
    n   bigint;
BEGIN
    IF TG_OP = 'INSERT' THEN
        NEW.title_key := task_fold(NEW.title);
        NEW.search_key := task_fold(NEW.title || E'\n' || coalesce(NEW.description, ''));
        NEW.tag_keys := task_fold(NEW.tags);
    ELSIF TG_OP = 'UPDATE' THEN
        IF (NEW.title, NEW.description) IS DISTINCT FROM (OLD.title, OLD.description) THEN
            NEW.title_key := task_fold(NEW.title);
            NEW.search_key := task_fold(NEW.title || E'\n' || coalesce(NEW.description, ''));
        END IF;
        IF NEW.tags IS DISTINCT FROM OLD.tags THEN
            NEW.tag_keys := task_fold(NEW.tags);
        END IF;
    END IF;
    UPDATE users SET change_seq = change_seq + 1 WHERE id = uid RETURNING change_seq INTO n;
    IF n IS NULL THEN
        RETURN CASE WHEN TG_OP = 'DELETE' THEN OLD ELSE NEW END;
    END IF;
    IF TG_OP = 'DELETE' THEN
        DELETE FROM task_order WHERE owner = uid AND change_no = OLD.change_no;
        INSERT INTO task_tombstones (user_id, change_no, task_id) VALUES (uid, n, OLD.id);
        RETURN OLD;
    END IF;
    NEW.change_no := n;
    IF TG_OP = 'INSERT' THEN
        NEW.created_no := n;
        INSERT INTO task_order (owner, change_no, touched_at, task_id)
        VALUES (uid, n, NEW.updated_at, NEW.id);
    ELSE
        UPDATE task_order SET owner = uid, change_no = n, touched_at = NEW.updated_at,
               task_id = NEW.id
        WHERE owner = OLD.user_id AND change_no = OLD.change_no;
    END IF;
    RETURN NEW;
END
$$;
