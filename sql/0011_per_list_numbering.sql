-- Change numbers per list (docs/scaling.md, "Per-list numbering"). A write in a list takes the
-- list's next number, under the list row's lock, and records the task in the list's changes: one
-- counter and one row whatever the number of members (0007 numbered every member's sequence).
--
-- A member's sync cursor is the list numbers it has seen, with the member's own number
-- (`users.change_seq`), which now counts only changes of their lists themselves: created,
-- changed, joined, left or deleted (`list_feed`). Their list cache compares one sum, the member's
-- number plus the numbers of the lists it was read with: every write raises one of them, and
-- leaving a list raises the member's by more than the list's, so the sum never comes back to a
-- value it had (`list_left`).
ALTER TABLE lists
    ADD COLUMN change_seq bigint NOT NULL DEFAULT 0,
    -- Tombstones up to this number have been purged: an older cursor of the list is 410.
    ADD COLUMN purged_through bigint NOT NULL DEFAULT 0;

-- Every task of a list, with the list number of its last change and of the change that brought
-- it into the list; `touched_at` orders the list by last change (`sort=-updated_at`). Kept apart
-- from `tasks`, whose toggles then stay HOT (0006).
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

-- A task deleted from a list or moved out of it, remembered for TOMBSTONE_DAYS.
CREATE TABLE list_tombstones (
    list_id    uuid NOT NULL REFERENCES lists (id) ON DELETE CASCADE,
    change_no  bigint NOT NULL,
    task_id    bigint NOT NULL,
    deleted_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (list_id, change_no)
);
CREATE INDEX list_tombstones_deleted_idx ON list_tombstones (deleted_at);

INSERT INTO list_changes (list_id, change_no, created_no, touched_at, task_id)
SELECT list_id, row_number() OVER w, row_number() OVER w, updated_at, id
FROM tasks WINDOW w AS (PARTITION BY list_id ORDER BY created_at, id);
UPDATE lists l SET change_seq = c.n
FROM (SELECT list_id, max(change_no) AS n FROM list_changes GROUP BY list_id) c
WHERE c.list_id = l.id;

-- The per-member view and tombstones are gone; cursors of the old form answer 410.
DROP TABLE task_order;
DROP TABLE task_tombstones;

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
            PERFORM 1 FROM tasks WHERE id = NEW.parent_id FOR KEY SHARE;
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
        -- The lists numbered, for the writer's RETURNING: which streams to tell, which cached
        -- lists to edit in place.
        PERFORM set_config('todo.numbers', new_list::text || ' ' || n, true);
        NEW.change_no := n;
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
        PERFORM set_config('todo.numbers', coalesce(old_list::text || ' ' || gone_n, ''), true);
        RETURN OLD;
    END IF;
    UPDATE lists SET change_seq = change_seq + 1 WHERE id = new_list RETURNING change_seq INTO n;
    INSERT INTO list_changes (list_id, change_no, created_no, touched_at, task_id)
    VALUES (new_list, n, n, NEW.updated_at, tid);
    PERFORM set_config('todo.numbers',
                       concat_ws(',', old_list::text || ' ' || gone_n, new_list::text || ' ' || n),
                       true);
    NEW.change_no := n;
    RETURN NEW;
END
$$;

-- A change to a list itself (its name, its members, ...): the next number of every member, in
-- id order, and the list's row in their feed. The list's own number moves too, so a CalDAV
-- client sees its collection changed.
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
        SET change_no = EXCLUDED.change_no, op = EXCLUDED.op, changed_at = now();
END
$$;

-- A member leaves a list (or it is deleted): their membership goes, as one change of theirs.
-- Their number rises by more than the list's (locked, so no write adds to it meanwhile): the sum
-- their list cache compares cannot fall back to an earlier value when the list drops out of it.
CREATE OR REPLACE FUNCTION list_left(l uuid, member uuid, what text) RETURNS void LANGUAGE plpgsql AS $$
DECLARE
    n bigint;
BEGIN
    PERFORM list_lock(l);
    UPDATE users SET change_seq = change_seq + 1 + coalesce(
               (SELECT change_seq FROM lists WHERE id = l FOR NO KEY UPDATE), 0)
    WHERE id = member RETURNING change_seq INTO n;
    DELETE FROM memberships WHERE list_id = l AND user_id = member;
    IF n IS NOT NULL THEN
        INSERT INTO list_feed (owner, list_id, change_no, op) VALUES (member, l, n, what)
        ON CONFLICT (owner, list_id) DO UPDATE
            SET change_no = EXCLUDED.change_no, op = EXCLUDED.op, changed_at = now();
    END IF;
END
$$;

-- A new member's cursors do not know the list: their feed sends every task of it, as created.
CREATE OR REPLACE FUNCTION list_joined(l uuid, member uuid) RETURNS void LANGUAGE plpgsql AS $$
DECLARE
    n bigint;
BEGIN
    PERFORM list_lock(l);
    UPDATE users SET change_seq = change_seq + 1 WHERE id = member RETURNING change_seq INTO n;
    INSERT INTO list_feed (owner, list_id, change_no, op) VALUES (member, l, n, 'joined')
    ON CONFLICT (owner, list_id) DO UPDATE
        SET change_no = EXCLUDED.change_no, op = EXCLUDED.op, changed_at = now();
END
$$;

DROP FUNCTION list_lock_shared(uuid, uuid);

-- Who wrote a task last was kept to hand that member their own new number; a list's number is
-- the same for every member.
CREATE OR REPLACE FUNCTION task_moved() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE tasks t SET list_id = NEW.list_id,
           assignee_id = CASE WHEN EXISTS (SELECT FROM memberships m
                                           WHERE m.list_id = NEW.list_id
                                             AND m.user_id = t.assignee_id)
                              THEN t.assignee_id END,
           updated_at = greatest(now(), t.updated_at + interval '1 microsecond')
    WHERE t.parent_id = NEW.id AND t.list_id <> NEW.list_id;
    RETURN NULL;
END
$$;
ALTER TABLE tasks DROP COLUMN last_writer;
