-- CalDAV: what a client wrote, kept for it, and the names it chose.
--
-- `ical` is the calendar object a client last PUT (NULL for a task only ever written over REST):
-- what it says beyond the model (VALARM, X-*, DTSTART, ...) is given back from it, with the
-- model's fields merged in (src/dav/ical.rs). `dav_name` is the object's name in its collection
-- when the client chose one other than `{uid}.ics`; a move to another list drops it (the task is a
-- new object there).
ALTER TABLE tasks
    ADD COLUMN ical text,
    ADD COLUMN dav_name text,
    -- The UID a client named as the parent (`RELATED-TO`) before that task was in the list: it
    -- becomes the parent when a task with that UID is put there (clients upload in any order).
    ADD COLUMN pending_parent text;
CREATE UNIQUE INDEX tasks_list_dav_name_idx ON tasks (list_id, dav_name) WHERE dav_name IS NOT NULL;
CREATE INDEX tasks_pending_parent_idx ON tasks (list_id, pending_parent)
    WHERE pending_parent IS NOT NULL;

-- A member's name for a list in their calendar home, when a client made it with MKCALENDAR (NULL:
-- the list's id).
ALTER TABLE memberships ADD COLUMN dav_name text;
CREATE UNIQUE INDEX memberships_dav_name_idx ON memberships (user_id, dav_name)
    WHERE dav_name IS NOT NULL;

-- The object a task was in a collection, once it is not there any more (deleted, or moved to
-- another list), for `sync-collection`'s 404s. Which member saw it go, and when, is the task's
-- tombstone or its row in the member's view (`task_order`), numbered by the change trigger; this
-- table only remembers the name, one row per task and list, without a row per member.
CREATE TABLE dav_gone (
    task_id bigint NOT NULL,
    list_id uuid NOT NULL,
    href    text NOT NULL,
    gone_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (task_id, list_id)
);
CREATE INDEX dav_gone_at_idx ON dav_gone (gone_at);

CREATE FUNCTION task_gone() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    -- A list being deleted takes its collection with it: nothing to remember.
    IF TG_OP = 'DELETE' AND NOT EXISTS (SELECT FROM lists WHERE id = OLD.list_id) THEN
        RETURN NULL;
    END IF;
    INSERT INTO dav_gone (task_id, list_id, href)
    VALUES (OLD.id, OLD.list_id, coalesce(OLD.dav_name, OLD.uid || '.ics'))
    ON CONFLICT (task_id, list_id) DO UPDATE SET href = EXCLUDED.href, gone_at = now();
    RETURN NULL;
END
$$;

CREATE TRIGGER tasks_gone AFTER DELETE ON tasks
    FOR EACH ROW EXECUTE FUNCTION task_gone();
CREATE TRIGGER tasks_moved_away AFTER UPDATE OF list_id ON tasks
    FOR EACH ROW WHEN (OLD.list_id IS DISTINCT FROM NEW.list_id) EXECUTE FUNCTION task_gone();

-- A task moved to another list is a new object there, at `{uid}.ics`.
CREATE FUNCTION task_renamed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    NEW.dav_name := NULL;
    RETURN NEW;
END
$$;

CREATE TRIGGER tasks_renamed BEFORE UPDATE OF list_id ON tasks
    FOR EACH ROW WHEN (OLD.list_id IS DISTINCT FROM NEW.list_id) EXECUTE FUNCTION task_renamed();
