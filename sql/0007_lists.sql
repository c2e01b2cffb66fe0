-- Lists that people share. A task belongs to one list; who may see or change it is decided by
-- the caller's membership of that list, in the statement that reads or writes it.
--
-- Change numbers stay per user (`users.change_seq`): a write in a list takes the next number of
-- every member, in one statement (the trigger below), and records the task in each member's
-- view (`task_order`). So each member's changes feed, list cache, ETags and events work exactly
-- as they did for one user, and a member's cursor is one number however many lists they are in.
-- The cost is a row per member per write, at most 100 (README, "Lists and sharing").
CREATE TABLE lists (
    id         uuid PRIMARY KEY,
    owner_id   uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    name       text NOT NULL CHECK (char_length(name) BETWEEN 1 AND 100),
    color      text CHECK (color ~ '^#[0-9a-f]{6}$'),
    is_default boolean NOT NULL DEFAULT false,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now()
);
CREATE UNIQUE INDEX lists_one_default_idx ON lists (owner_id) WHERE is_default;
CREATE INDEX lists_owner_idx ON lists (owner_id);

CREATE TABLE memberships (
    user_id   uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    list_id   uuid NOT NULL REFERENCES lists (id) ON DELETE CASCADE,
    role      text NOT NULL CHECK (role IN ('owner', 'editor', 'viewer')),
    joined_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (user_id, list_id)
);
CREATE INDEX memberships_list_idx ON memberships (list_id, user_id);
CREATE UNIQUE INDEX memberships_one_owner_idx ON memberships (list_id) WHERE role = 'owner';

-- Pending invitations only: accepting, declining or revoking one deletes it.
CREATE TABLE invitations (
    id         uuid PRIMARY KEY,
    list_id    uuid NOT NULL REFERENCES lists (id) ON DELETE CASCADE,
    email      text NOT NULL,
    role       text NOT NULL CHECK (role IN ('editor', 'viewer')),
    invited_by uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    created_at timestamptz NOT NULL DEFAULT now(),
    expires_at timestamptz NOT NULL,
    CONSTRAINT invitations_list_email_key UNIQUE (list_id, email)
);
CREATE INDEX invitations_email_idx ON invitations (email);

-- A list's appearance in a member's changes feed: created, updated, joined, or gone from it
-- (deleted, left). One row per member and list, numbered in the member's sequence; rows of gone
-- lists are purged with the task tombstones.
CREATE TABLE list_feed (
    owner      uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    list_id    uuid NOT NULL,
    change_no  bigint NOT NULL,
    op         text NOT NULL CHECK (op IN ('created', 'updated', 'joined', 'deleted', 'left')),
    changed_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (owner, list_id)
);
CREATE INDEX list_feed_change_idx ON list_feed (owner, change_no);
CREATE INDEX list_feed_changed_idx ON list_feed (changed_at) WHERE op IN ('deleted', 'left');

-- Every user's default list, and their tasks in it.
INSERT INTO lists (id, owner_id, name, is_default, created_at, updated_at)
SELECT gen_random_uuid(), id, 'Inbox', true, created_at, created_at FROM users;
INSERT INTO memberships (user_id, list_id, role, joined_at)
SELECT owner_id, id, 'owner', created_at FROM lists;

-- A task's creator stays in `user_id` (the API's `user_id` and `created_by`); the task belongs to
-- its list, and outlives its creator's account when the list is someone else's.
ALTER TABLE tasks
    DROP CONSTRAINT tasks_user_id_fkey,
    DROP CONSTRAINT tasks_pkey,
    ADD COLUMN list_id uuid,
    ADD COLUMN assignee_id uuid REFERENCES users (id) ON DELETE SET NULL,
    -- The CalDAV UID: stable and unique in its list.
    ADD COLUMN uid text NOT NULL DEFAULT gen_random_uuid()::text,
    -- Who wrote the task last, set by every write statement: the trigger hands that member's new
    -- change number back in `change_no`, for the writer's list cache.
    ADD COLUMN last_writer uuid;
UPDATE tasks t SET list_id = l.id FROM lists l WHERE l.owner_id = t.user_id AND l.is_default;
ALTER TABLE tasks
    ALTER COLUMN list_id SET NOT NULL,
    ADD CONSTRAINT tasks_list_id_fkey FOREIGN KEY (list_id) REFERENCES lists (id) ON DELETE CASCADE,
    ADD PRIMARY KEY (id),
    ADD CONSTRAINT tasks_list_uid_key UNIQUE (list_id, uid);

-- The per-user indexes become per-list: every list filters by the caller's lists.
DROP INDEX tasks_user_created_idx;
DROP INDEX tasks_user_priority_idx;
DROP INDEX tasks_user_due_idx;
DROP INDEX tasks_user_title_idx;
DROP INDEX tasks_user_search_idx;
DROP INDEX tasks_user_tags_idx;
CREATE INDEX tasks_list_created_idx ON tasks (list_id, created_at DESC, id DESC);
CREATE INDEX tasks_list_priority_idx ON tasks (list_id, priority DESC, created_at DESC, id DESC);
CREATE INDEX tasks_list_due_idx ON tasks (list_id, coalesce(due_at, 'infinity'), id);
CREATE INDEX tasks_list_title_idx ON tasks (list_id, title_key, id);
CREATE INDEX tasks_list_search_idx ON tasks USING gin (list_id, search_key gin_trgm_ops)
    WITH (gin_pending_list_limit = 128);
CREATE INDEX tasks_list_tags_idx ON tasks USING gin (list_id, tag_keys)
    WITH (gin_pending_list_limit = 128);
CREATE INDEX tasks_assignee_idx ON tasks (assignee_id) WHERE assignee_id IS NOT NULL;

-- A member's view of a task: one row per member and task, numbered in the member's sequence.
-- `created_no` is the number at which the task came into the member's view (made, moved in, or
-- the list joined), so a feed or stream reports it as created.
ALTER TABLE task_order ADD COLUMN created_no bigint;
UPDATE task_order o SET created_no = t.created_no FROM tasks t WHERE t.id = o.task_id;
ALTER TABLE task_order ALTER COLUMN created_no SET NOT NULL;
CREATE UNIQUE INDEX task_order_task_idx ON task_order (owner, task_id);

-- A list's membership lock: task writes take it shared, changes of members exclusive (advisory,
-- so a task write adds no row lock to the list's row). Two lists are taken in one order.
CREATE FUNCTION list_lock_shared(a uuid, b uuid) RETURNS void LANGUAGE plpgsql AS $$
DECLARE
    first  uuid := least(a, b);     -- least and greatest skip NULLs
    second uuid := greatest(a, b);
BEGIN
    IF first IS NOT NULL THEN
        PERFORM pg_advisory_xact_lock_shared(hashtextextended(first::text, 7));
    END IF;
    IF second <> first THEN
        PERFORM pg_advisory_xact_lock_shared(hashtextextended(second::text, 7));
    END IF;
END
$$;

CREATE FUNCTION list_lock(l uuid) RETURNS void LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_advisory_xact_lock(hashtextextended(l::text, 7));
END
$$;

CREATE OR REPLACE FUNCTION task_change() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    old_list uuid := CASE WHEN TG_OP <> 'INSERT' THEN OLD.list_id END;
    new_list uuid;
    tid      bigint := CASE WHEN TG_OP = 'DELETE' THEN OLD.id ELSE NEW.id END;
    touched  timestamptz := CASE WHEN TG_OP = 'DELETE' THEN NULL ELSE NEW.updated_at END;
    writer   uuid := CASE WHEN TG_OP = 'DELETE' THEN NULL ELSE NEW.last_writer END;
    mine     bigint;
BEGIN
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
    -- Joining, leaving and deleting a list wait for the list's task writes in flight and hold off
    -- new ones, so no write reads the members from before a change of them and commits after it.
    PERFORM list_lock_shared(old_list, new_list);
    -- Every member of the lists the task was and is in takes their next change number. The rows
    -- are locked in id order first, so two writes whose members overlap cannot deadlock.
    PERFORM 1 FROM users
    WHERE id IN (SELECT user_id FROM memberships WHERE list_id IN (old_list, new_list))
    ORDER BY id FOR UPDATE;
    WITH m AS (
        SELECT user_id, coalesce(bool_or(list_id = new_list), false) AS sees
        FROM memberships WHERE list_id IN (old_list, new_list) GROUP BY user_id
    ), b AS (
        UPDATE users u SET change_seq = u.change_seq + 1 FROM m WHERE u.id = m.user_id
        RETURNING u.id, u.change_seq AS n, m.sees
    ), gone AS (
        DELETE FROM task_order o USING b WHERE NOT b.sees AND o.owner = b.id AND o.task_id = tid
    ), tomb AS (
        INSERT INTO task_tombstones (user_id, change_no, task_id)
        SELECT id, n, tid FROM b WHERE NOT sees
    ), kept AS (
        INSERT INTO task_order (owner, change_no, touched_at, task_id, created_no)
        SELECT id, n, touched, tid, n FROM b WHERE sees
        ON CONFLICT (owner, task_id) DO UPDATE
            SET change_no = EXCLUDED.change_no, touched_at = EXCLUDED.touched_at
    )
    SELECT n INTO mine FROM b WHERE id = writer;
    IF TG_OP = 'DELETE' THEN
        RETURN OLD;
    END IF;
    NEW.change_no := coalesce(mine, 0);
    RETURN NEW;
END
$$;

-- A change to a list itself (its name, its members, ...) for every member: the next number of
-- each, in id order, and the list's row in their feed.
CREATE FUNCTION list_changed(l uuid, what text) RETURNS void LANGUAGE plpgsql AS $$
BEGIN
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
        SET change_no = EXCLUDED.change_no, op = EXCLUDED.op, changed_at = now();
END
$$;

-- A member leaves a list (or it is deleted): their membership goes, and so does the list's place
-- in their view, as one change of theirs: the feed says the list is gone, not each task.
CREATE FUNCTION list_left(l uuid, member uuid, what text) RETURNS void LANGUAGE plpgsql AS $$
DECLARE
    n bigint;
BEGIN
    PERFORM list_lock(l);
    UPDATE users SET change_seq = change_seq + 1 WHERE id = member RETURNING change_seq INTO n;
    DELETE FROM memberships WHERE list_id = l AND user_id = member;
    DELETE FROM task_order o USING tasks t
    WHERE o.owner = member AND o.task_id = t.id AND t.list_id = l;
    IF n IS NOT NULL THEN
        INSERT INTO list_feed (owner, list_id, change_no, op) VALUES (member, l, n, what)
        ON CONFLICT (owner, list_id) DO UPDATE
            SET change_no = EXCLUDED.change_no, op = EXCLUDED.op, changed_at = now();
    END IF;
END
$$;

-- A new member sees every task of the list as if just made.
CREATE FUNCTION list_joined(l uuid, member uuid) RETURNS void LANGUAGE plpgsql AS $$
DECLARE
    n bigint;
    k bigint;
BEGIN
    PERFORM list_lock(l);
    SELECT count(*) INTO k FROM tasks WHERE list_id = l;
    UPDATE users SET change_seq = change_seq + k + 1 WHERE id = member RETURNING change_seq INTO n;
    INSERT INTO task_order (owner, change_no, touched_at, task_id, created_no)
    SELECT member, n - k - 1 + row_number() OVER (ORDER BY created_at, id), updated_at, id,
           n - k - 1 + row_number() OVER (ORDER BY created_at, id)
    FROM tasks WHERE list_id = l
    ON CONFLICT (owner, task_id) DO NOTHING;
    INSERT INTO list_feed (owner, list_id, change_no, op) VALUES (member, l, n, 'joined')
    ON CONFLICT (owner, list_id) DO UPDATE
        SET change_no = EXCLUDED.change_no, op = EXCLUDED.op, changed_at = now();
END
$$;

-- A list as one member sees it, the API's list object; the REST routes and the changes feed both
-- read it here, so the two cannot disagree.
CREATE FUNCTION list_json(l lists, role text) RETURNS json LANGUAGE sql STABLE AS $$
    SELECT json_build_object(
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
$$;
