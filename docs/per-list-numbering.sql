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

-- The change trigger: `task_change` of sql/0008_subtasks_recurrence.sql, declaring `n bigint` and
-- `gone_n bigint` in place of `mine`, `numbers` and `members`, with everything from its comment
-- "Joining, leaving and deleting a list wait ..." to its end replaced by what follows (the
-- function as measured was the two spliced together, applied with CREATE OR REPLACE).
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
