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

-- A list object is built from the list's id, not its row: on Citus a statement on a shard hands
-- a function the shard's row type (lists_102008, ...), which list_json(lists, text) does not take.
DROP FUNCTION list_json(lists, text);
-- PL/pgSQL, not SQL: Citus cannot plan a SQL function's statement that uses its parameters.
CREATE FUNCTION list_json(list uuid, role text) RETURNS json LANGUAGE plpgsql STABLE AS $$
BEGIN
    RETURN (SELECT json_build_object(
        'id', l.id,
        'name', l.name,
        'color', l.color,
        'owner_id', l.owner_id,
        'role', role,
        'is_default', l.is_default,
        'shared', (SELECT count(*) FROM memberships m WHERE m.list_id = l.id) > 1
                  OR EXISTS (SELECT FROM invitations i WHERE i.list_id = l.id AND i.expires_at > now()),
        'open_tasks', (SELECT count(*) FROM tasks t WHERE t.list_id = l.id AND NOT t.completed),
        'created_at', to_char(l.created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"'),
        'updated_at', to_char(l.updated_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"'))
    FROM lists l WHERE l.id = list);
END
$$;

-- The same for a member's list events: the time comes from the row.
CREATE OR REPLACE FUNCTION list_changed(l uuid, what text) RETURNS void LANGUAGE plpgsql AS $$
BEGIN
    UPDATE lists SET change_seq = change_seq + 1 WHERE id = l;
    PERFORM 1 FROM users WHERE id IN (SELECT user_id FROM memberships WHERE list_id = l)
    ORDER BY id FOR UPDATE;
    WITH b AS (
        UPDATE users u SET change_seq = u.change_seq + 1
        FROM memberships m WHERE m.list_id = l AND u.id = m.user_id
        RETURNING u.id, u.change_seq
    )
    INSERT INTO list_feed (owner, list_id, change_no, op)
    SELECT id, l, change_seq, what FROM b
    ON CONFLICT (owner, list_id) DO UPDATE
        SET change_no = EXCLUDED.change_no, op = EXCLUDED.op, changed_at = EXCLUDED.changed_at;
END
$$;

CREATE OR REPLACE FUNCTION list_left(l uuid, member uuid, what text) RETURNS void LANGUAGE plpgsql AS $$
DECLARE
    n    bigint;
    list bigint;
BEGIN
    PERFORM list_lock(l);
    -- Read first: Citus refuses a read of a distributed table inside a write of a reference one.
    SELECT change_seq INTO list FROM lists WHERE id = l FOR NO KEY UPDATE;
    UPDATE users SET change_seq = change_seq + 1 + coalesce(list, 0)
    WHERE id = member RETURNING change_seq INTO n;
    DELETE FROM memberships WHERE list_id = l AND user_id = member;
    IF n IS NOT NULL THEN
        INSERT INTO list_feed (owner, list_id, change_no, op) VALUES (member, l, n, what)
        ON CONFLICT (owner, list_id) DO UPDATE
            SET change_no = EXCLUDED.change_no, op = EXCLUDED.op, changed_at = EXCLUDED.changed_at;
    END IF;
END
$$;

CREATE OR REPLACE FUNCTION list_joined(l uuid, member uuid) RETURNS void LANGUAGE plpgsql AS $$
DECLARE
    n bigint;
BEGIN
    PERFORM list_lock(l);
    UPDATE users SET change_seq = change_seq + 1 WHERE id = member RETURNING change_seq INTO n;
    INSERT INTO list_feed (owner, list_id, change_no, op) VALUES (member, l, n, 'joined')
    ON CONFLICT (owner, list_id) DO UPDATE
        SET change_no = EXCLUDED.change_no, op = EXCLUDED.op, changed_at = EXCLUDED.changed_at;
END
$$;
