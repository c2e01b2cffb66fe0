-- Subtasks and recurring tasks.
--
-- A subtask names its parent, in the same list, at most 4 levels below a top-level task, never
-- its own ancestor; deleting a task deletes its subtasks (each numbered and reported as deleted by
-- the change trigger), and moving a task to another list moves its subtasks with it.
--
-- A recurring task holds an RFC 5545 rule, evaluated in its time zone from `recurrence_start`
-- (the rule's DTSTART: the due date it was set with). The server keeps the next occurrences after
-- `due_at` in `next_dues` (computed by the application, which has the rule engine), and
-- `dues_end` says they are all there are: completing the task is then one plain statement that
-- takes the first of them (or completes it when none is left), like any toggle.
ALTER TABLE tasks
    ADD COLUMN parent_id bigint REFERENCES tasks (id) ON DELETE CASCADE,
    ADD COLUMN recurrence text,
    ADD COLUMN timezone text NOT NULL DEFAULT 'UTC',
    ADD COLUMN recurrence_start timestamptz,
    ADD COLUMN next_dues timestamptz[],
    ADD COLUMN dues_end boolean NOT NULL DEFAULT false,
    ADD COLUMN last_completed_at timestamptz,
    ADD CONSTRAINT tasks_not_own_parent CHECK (parent_id <> id),
    ADD CONSTRAINT tasks_recurrence_due CHECK (recurrence IS NULL OR due_at IS NOT NULL);
CREATE INDEX tasks_parent_idx ON tasks (parent_id) WHERE parent_id IS NOT NULL;

-- Only a change a client can see is numbered: the application's own upkeep (refilling
-- `next_dues`) is not. Every API write moves `updated_at` forward, so the row comparison only runs
-- for upkeep and for changes made in plain SQL (which are numbered).
CREATE OR REPLACE FUNCTION task_change() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    old_list uuid := CASE WHEN TG_OP <> 'INSERT' THEN OLD.list_id END;
    new_list uuid;
    tid      bigint := CASE WHEN TG_OP = 'DELETE' THEN OLD.id ELSE NEW.id END;
    touched  timestamptz := CASE WHEN TG_OP = 'DELETE' THEN NULL ELSE NEW.updated_at END;
    writer   uuid := CASE WHEN TG_OP = 'DELETE' THEN NULL ELSE NEW.last_writer END;
    mine     bigint;
    numbers  text;
    members  uuid[];
BEGIN
    IF TG_OP = 'UPDATE' THEN
        IF NEW.updated_at = OLD.updated_at THEN
            IF to_jsonb(NEW) - 'next_dues' - 'dues_end' = to_jsonb(OLD) - 'next_dues' - 'dues_end' THEN
                RETURN NEW;
            END IF;
        END IF;
    END IF;
    -- A new parent is locked (as its foreign key will) before any member's counter: a write of
    -- the parent locks its own row first too, so the two cannot wait on each other.
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
    -- Joining, leaving and deleting a list wait for the list's task writes in flight and hold off
    -- new ones, so no write reads the members from before a change of them and commits after it.
    IF old_list = new_list THEN
        PERFORM pg_advisory_xact_lock_shared(hashtextextended(new_list::text, 7));
        SELECT array_agg(user_id) INTO members FROM memberships WHERE list_id = new_list;
        -- The common case, a change in a list of one's own: one counter, one row of the view,
        -- without the general statement's sorting, grouping and materialising.
        IF cardinality(members) = 1 THEN
            UPDATE users SET change_seq = change_seq + 1 WHERE id = members[1]
            RETURNING change_seq INTO mine;
            IF mine IS NOT NULL THEN
                UPDATE task_order SET change_no = mine, touched_at = touched
                WHERE owner = members[1] AND task_id = tid;
                IF NOT FOUND THEN
                    INSERT INTO task_order (owner, change_no, touched_at, task_id, created_no)
                    VALUES (members[1], mine, touched, tid, mine);
                END IF;
            END IF;
            PERFORM set_config('todo.numbers', coalesce(members[1]::text || ' ' || mine, ''), true);
            NEW.change_no := CASE WHEN members[1] = writer THEN coalesce(mine, 0) ELSE 0 END;
            RETURN NEW;
        END IF;
    ELSE
        PERFORM list_lock_shared(old_list, new_list);
    END IF;
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
    SELECT max(n) FILTER (WHERE id = writer), string_agg(id::text || ' ' || n, ',')
    INTO mine, numbers FROM b;
    -- Every member's new number, for the writer's RETURNING (`current_setting`): an instance
    -- edits in place each member's cached list that was one change behind.
    PERFORM set_config('todo.numbers', coalesce(numbers, ''), true);
    IF TG_OP = 'DELETE' THEN
        RETURN OLD;
    END IF;
    NEW.change_no := coalesce(mine, 0);
    RETURN NEW;
END
$$;

-- The parent rules, checked by the write itself under a per-list lock of the task tree, so two
-- concurrent moves cannot make a cycle between them (the second sees the first committed).
-- Refusals carry their own SQLSTATE, which the application turns into a 400 naming parent_id.
CREATE FUNCTION task_tree() RETURNS trigger LANGUAGE plpgsql AS $$
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
    SELECT list_id INTO parent_list FROM tasks WHERE id = NEW.parent_id;
    IF parent_list IS DISTINCT FROM NEW.list_id THEN
        RAISE EXCEPTION 'parent not in the list' USING ERRCODE = 'TD001';
    END IF;
    -- The parent's ancestors (and the parent): the task must not be among them.
    WITH RECURSIVE up (id, parent_id, level) AS (
        SELECT id, parent_id, 1 FROM tasks WHERE id = NEW.parent_id
        UNION ALL
        SELECT t.id, t.parent_id, up.level + 1 FROM tasks t JOIN up ON t.id = up.parent_id
        WHERE up.level < 10
    )
    SELECT max(level) INTO depth FROM up;
    IF TG_OP = 'UPDATE' AND EXISTS (
        WITH RECURSIVE up (id, parent_id, level) AS (
            SELECT id, parent_id, 1 FROM tasks WHERE id = NEW.parent_id
            UNION ALL
            SELECT t.id, t.parent_id, up.level + 1 FROM tasks t JOIN up ON t.id = up.parent_id
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
            SELECT id, 1 FROM tasks WHERE parent_id = NEW.id
            UNION ALL
            SELECT t.id, down.level + 1 FROM tasks t JOIN down ON t.parent_id = down.id
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

CREATE TRIGGER tasks_tree BEFORE INSERT OR UPDATE OF parent_id, list_id ON tasks
    FOR EACH ROW EXECUTE FUNCTION task_tree();

-- A task that moves to another list takes its subtasks along (each move numbered by the change
-- trigger, for the members of both lists), unassigning those whose assignee is not a member there.
CREATE FUNCTION task_moved() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE tasks t SET list_id = NEW.list_id, last_writer = NEW.last_writer,
           assignee_id = CASE WHEN EXISTS (SELECT FROM memberships m
                                           WHERE m.list_id = NEW.list_id
                                             AND m.user_id = t.assignee_id)
                              THEN t.assignee_id END,
           updated_at = greatest(now(), t.updated_at + interval '1 microsecond')
    WHERE t.parent_id = NEW.id AND t.list_id <> NEW.list_id;
    RETURN NULL;
END
$$;

CREATE TRIGGER tasks_moved AFTER UPDATE OF list_id ON tasks
    FOR EACH ROW WHEN (NEW.list_id <> OLD.list_id) EXECUTE FUNCTION task_moved();
