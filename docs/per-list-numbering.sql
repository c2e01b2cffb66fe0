-- Per-list numbering (docs/scaling.md, "Per-list numbering, as it is to be built"): the schema and
-- the change trigger as prototyped to measure them, applied by hand to a copy of a migrated
-- database (after 0010). Not a migration: nothing in the server reads these tables yet, and the
-- list functions of 0007 (joined, left, changed) still number per member.
ALTER TABLE lists
    ADD COLUMN change_seq bigint NOT NULL DEFAULT 0,
    ADD COLUMN purged_through bigint NOT NULL DEFAULT 0;

CREATE TABLE list_changes (
    list_id    uuid NOT NULL REFERENCES lists (id) ON DELETE CASCADE,
    change_no  bigint NOT NULL,
    created_no bigint NOT NULL,
    touched_at timestamptz NOT NULL,
    task_id    bigint NOT NULL,
    PRIMARY KEY (list_id, change_no)
);
CREATE UNIQUE INDEX list_changes_task_idx ON list_changes (list_id, task_id);
CREATE INDEX list_changes_updated_idx ON list_changes (list_id, touched_at DESC, task_id DESC);

CREATE TABLE list_tombstones (
    list_id    uuid NOT NULL REFERENCES lists (id) ON DELETE CASCADE,
    change_no  bigint NOT NULL,
    task_id    bigint NOT NULL,
    deleted_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (list_id, change_no)
);

INSERT INTO list_changes (list_id, change_no, created_no, touched_at, task_id)
SELECT list_id, row_number() OVER w, row_number() OVER w, updated_at, id
FROM tasks WINDOW w AS (PARTITION BY list_id ORDER BY change_no, id);
UPDATE lists l SET change_seq = c.n
FROM (SELECT list_id, max(change_no) AS n FROM list_changes GROUP BY list_id) c
WHERE c.list_id = l.id;

CREATE OR REPLACE FUNCTION task_change() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    old_list uuid := CASE WHEN TG_OP <> 'INSERT' THEN OLD.list_id END;
    new_list uuid;
    tid      bigint := CASE WHEN TG_OP = 'DELETE' THEN OLD.id ELSE NEW.id END;
    n        bigint;
    gone_n   bigint;
BEGIN
    IF TG_OP = 'UPDATE' THEN
        IF NEW.updated_at = OLD.updated_at THEN
            IF to_jsonb(NEW) - 'next_dues' - 'dues_end' = to_jsonb(OLD) - 'next_dues' - 'dues_end' THEN
                RETURN NEW;
            END IF;
        END IF;
    END IF;
    IF TG_OP <> 'DELETE' AND NEW.parent_id IS NOT NULL THEN
        IF TG_OP = 'INSERT' OR NEW.parent_id IS DISTINCT FROM OLD.parent_id THEN
            PERFORM 1 FROM tasks WHERE id = NEW.parent_id FOR KEY SHARE;
        END IF;
    END IF;
    IF TG_OP <> 'DELETE' THEN
        IF NEW.list_id IS NULL THEN
            SELECT id INTO NEW.list_id FROM lists WHERE owner_id = NEW.user_id AND is_default;
        END IF;
        new_list := NEW.list_id;
    END IF;
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
    -- The common case: a change within one list. Its row's lock orders the list's writes.
    IF old_list = new_list OR old_list IS NULL THEN
        UPDATE lists SET change_seq = change_seq + 1 WHERE id = new_list RETURNING change_seq INTO n;
        UPDATE list_changes SET change_no = n, touched_at = NEW.updated_at
        WHERE list_id = new_list AND task_id = tid;
        IF NOT FOUND THEN
            INSERT INTO list_changes (list_id, change_no, created_no, touched_at, task_id)
            VALUES (new_list, n, n, NEW.updated_at, tid);
        END IF;
        NEW.change_no := coalesce(n, 0);
        RETURN NEW;
    END IF;
    -- A deletion, or a move: the lists' rows are locked in id order, so two moves cannot deadlock.
    PERFORM 1 FROM lists WHERE id IN (old_list, new_list) ORDER BY id FOR NO KEY UPDATE;
    UPDATE lists SET change_seq = change_seq + 1 WHERE id = old_list RETURNING change_seq INTO gone_n;
    DELETE FROM list_changes WHERE list_id = old_list AND task_id = tid;
    IF gone_n IS NOT NULL THEN
        INSERT INTO list_tombstones (list_id, change_no, task_id) VALUES (old_list, gone_n, tid);
    END IF;
    IF TG_OP = 'DELETE' THEN
        RETURN OLD;
    END IF;
    UPDATE lists SET change_seq = change_seq + 1 WHERE id = new_list RETURNING change_seq INTO n;
    INSERT INTO list_changes (list_id, change_no, created_no, touched_at, task_id)
    VALUES (new_list, n, n, NEW.updated_at, tid);
    NEW.change_no := coalesce(n, 0);
    RETURN NEW;
END
$$;
