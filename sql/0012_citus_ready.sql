-- Statements and triggers that Citus can run as well (docs/scaling.md, "Past one PostgreSQL:
-- Citus"); on plain PostgreSQL they do what they did.
--
-- A statement on a distributed table may not call a STABLE function on a column, and
-- `timestamptz + interval` is STABLE (a day or a month depends on the time zone). One microsecond
-- does not: `just_after` says so, and PostgreSQL inlines it.
CREATE FUNCTION just_after(t timestamptz) RETURNS timestamptz
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$ SELECT t + interval '1 microsecond' $$;

-- A write returned the numbers it took through a setting of the transaction (`todo.numbers`),
-- which the trigger of a shard sets on the worker, out of the writer's sight. The row says it
-- instead: its list and number (`change_no`), and the list it came from when it moved.
ALTER TABLE tasks ADD COLUMN moved_from uuid;

-- A task's tree is in its list: every lookup names it, so it stays on the list's shard.
CREATE OR REPLACE FUNCTION task_tree() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    parent_list uuid;
    depth       int;
    height      int;
BEGIN
    IF NEW.parent_id IS NULL THEN
        RETURN NEW;
    END IF;
    IF TG_OP = 'UPDATE' THEN
        IF NEW.parent_id IS NOT DISTINCT FROM OLD.parent_id AND NEW.list_id = OLD.list_id THEN
            RETURN NEW;
        END IF;
    END IF;
    PERFORM pg_advisory_xact_lock(hashtextextended(NEW.list_id::text, 11));
    SELECT list_id INTO parent_list FROM tasks WHERE list_id = NEW.list_id AND id = NEW.parent_id;
    IF parent_list IS DISTINCT FROM NEW.list_id THEN
        RAISE EXCEPTION 'parent not in the list' USING ERRCODE = 'TD001';
    END IF;
    -- The parent's ancestors (and the parent): the task must not be among them.
    WITH RECURSIVE up (id, parent_id, level) AS (
        SELECT id, parent_id, 1 FROM tasks WHERE list_id = NEW.list_id AND id = NEW.parent_id
        UNION ALL
        SELECT t.id, t.parent_id, up.level + 1 FROM tasks t JOIN up ON t.list_id = NEW.list_id AND t.id = up.parent_id
        WHERE up.level < 10
    )
    SELECT max(level) INTO depth FROM up;
    IF TG_OP = 'UPDATE' AND EXISTS (
        WITH RECURSIVE up (id, parent_id, level) AS (
            SELECT id, parent_id, 1 FROM tasks WHERE list_id = NEW.list_id AND id = NEW.parent_id
            UNION ALL
            SELECT t.id, t.parent_id, up.level + 1 FROM tasks t JOIN up ON t.list_id = NEW.list_id AND t.id = up.parent_id
            WHERE up.level < 10
        )
        SELECT FROM up WHERE id = NEW.id
    ) THEN
        RAISE EXCEPTION 'a task cannot be its own ancestor' USING ERRCODE = 'TD002';
    END IF;
    -- The levels below the task move with it.
    height := 0;
    IF TG_OP = 'UPDATE' THEN
        WITH RECURSIVE down (id, level) AS (
            SELECT id, 1 FROM tasks WHERE list_id = OLD.list_id AND parent_id = NEW.id
            UNION ALL
            SELECT t.id, down.level + 1 FROM tasks t JOIN down ON t.list_id = OLD.list_id AND t.parent_id = down.id
            WHERE down.level < 10
        )
        SELECT coalesce(max(level), 0) INTO height FROM down;
    END IF;
    IF depth + height > 4 THEN
        RAISE EXCEPTION 'too deep' USING ERRCODE = 'TD003';
    END IF;
    RETURN NEW;
END
$$;

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
    -- A new parent is locked (as its foreign key will) before the list's row: a write of the
    -- parent locks its own row first too, so the two cannot wait on each other.
    IF TG_OP <> 'DELETE' AND NEW.parent_id IS NOT NULL THEN
        IF TG_OP = 'INSERT' OR NEW.parent_id IS DISTINCT FROM OLD.parent_id THEN
            PERFORM 1 FROM tasks WHERE list_id = NEW.list_id AND id = NEW.parent_id FOR KEY SHARE;
        END IF;
    END IF;
    IF TG_OP <> 'DELETE' THEN
        -- An instance of the version before lists names no list: the creator's default one.
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
    -- The common case: a change within one list. The lock on its row orders the list's writes,
    -- so its numbers commit in order and "every change after n" is a complete answer.
    IF old_list = new_list OR old_list IS NULL THEN
        UPDATE lists SET change_seq = change_seq + 1 WHERE id = new_list RETURNING change_seq INTO n;
        UPDATE list_changes SET change_no = n, touched_at = NEW.updated_at
        WHERE list_id = new_list AND task_id = tid;
        IF NOT FOUND THEN
            INSERT INTO list_changes (list_id, change_no, created_no, touched_at, task_id)
            VALUES (new_list, n, n, NEW.updated_at, tid);
        END IF;
        NEW.change_no := n;
        NEW.moved_from := NULL;
        RETURN NEW;
    END IF;
    -- A deletion, or a move: the lists' rows are locked in id order, so two moves cannot deadlock.
    -- A list being deleted has no row left: nothing to number.
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
    NEW.change_no := n;
    NEW.moved_from := old_list;
    RETURN NEW;
END
$$;

-- Citus takes only IMMUTABLE functions in an upsert's DO UPDATE: the time comes from the row.
CREATE OR REPLACE FUNCTION task_gone() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    -- A list being deleted takes its collection with it: nothing to remember.
    IF TG_OP = 'DELETE' AND NOT EXISTS (SELECT FROM lists WHERE id = OLD.list_id) THEN
        RETURN NULL;
    END IF;
    INSERT INTO dav_gone (task_id, list_id, href)
    VALUES (OLD.id, OLD.list_id, coalesce(OLD.dav_name, OLD.uid || '.ics'))
    ON CONFLICT (task_id, list_id) DO UPDATE SET href = EXCLUDED.href, gone_at = EXCLUDED.gone_at;
    RETURN NULL;
END
$$;
