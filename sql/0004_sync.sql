-- Sync: change numbers, tombstones, idempotency keys, event tickets.
--
-- Every change to a user's tasks takes the next number of a counter on the user's row, in the
-- same transaction as the change. The row lock orders one user's writes: a second writer waits
-- until the first commits or rolls back, so a reader never sees number 7 committed while 6 is not,
-- and "every change after n" is always a complete answer (a global sequence does not give that:
-- numbers are handed out in one order and committed in another).
ALTER TABLE users
    ADD COLUMN change_seq bigint NOT NULL DEFAULT 0,
    -- Tombstones up to this change number have been purged: an older sync cursor is 410.
    ADD COLUMN tombstones_purged_through bigint NOT NULL DEFAULT 0;

ALTER TABLE tasks
    ADD COLUMN change_no bigint NOT NULL DEFAULT 0,
    ADD COLUMN created_no bigint NOT NULL DEFAULT 0;

-- Tasks that existed before change numbers: numbered per user in creation order.
WITH numbered AS (
    SELECT user_id, id, row_number() OVER (PARTITION BY user_id ORDER BY created_at, id) AS n
    FROM tasks
)
UPDATE tasks t SET change_no = numbered.n, created_no = numbered.n
FROM numbered WHERE t.user_id = numbered.user_id AND t.id = numbered.id;
UPDATE users u SET change_seq = counted.n
FROM (SELECT user_id, count(*) AS n FROM tasks GROUP BY user_id) counted
WHERE u.id = counted.user_id;

CREATE INDEX tasks_user_change_idx ON tasks (user_id, change_no);

-- A deleted task, remembered for TOMBSTONE_DAYS so offline clients learn of the deletion.
CREATE TABLE task_tombstones (
    user_id    uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    change_no  bigint NOT NULL,
    task_id    bigint NOT NULL,
    deleted_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (user_id, change_no)
);
CREATE INDEX task_tombstones_deleted_idx ON task_tombstones (deleted_at);

-- One trigger numbers every write to tasks, whichever statement makes it (today's and those to
-- come), records deletions, and tells every instance (LISTEN task_changes; payload "<user> <n>",
-- delivered at commit). When the user row is gone (the account is being deleted with its tasks)
-- there is nobody left to tell.
CREATE FUNCTION task_change() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    uid uuid := CASE WHEN TG_OP = 'DELETE' THEN OLD.user_id ELSE NEW.user_id END;
    n   bigint;
BEGIN
    UPDATE users SET change_seq = change_seq + 1 WHERE id = uid RETURNING change_seq INTO n;
    IF n IS NULL THEN
        RETURN CASE WHEN TG_OP = 'DELETE' THEN OLD ELSE NEW END;
    END IF;
    PERFORM pg_notify('task_changes', uid::text || ' ' || n);
    IF TG_OP = 'DELETE' THEN
        INSERT INTO task_tombstones (user_id, change_no, task_id) VALUES (uid, n, OLD.id);
        RETURN OLD;
    END IF;
    NEW.change_no := n;
    IF TG_OP = 'INSERT' THEN
        NEW.created_no := n;
    END IF;
    RETURN NEW;
END
$$;

CREATE TRIGGER tasks_change BEFORE INSERT OR UPDATE OR DELETE ON tasks
    FOR EACH ROW EXECUTE FUNCTION task_change();

-- The first answer to a POST with an Idempotency-Key, kept 24 hours.
CREATE TABLE idempotency_keys (
    user_id      uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    key          text NOT NULL,
    request_hash bytea NOT NULL,
    status       smallint NOT NULL,
    body         bytea NOT NULL,
    etag         text,
    created_at   timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (user_id, key)
);
CREATE INDEX idempotency_keys_created_idx ON idempotency_keys (created_at);

-- One-use tickets that open an event stream (an EventSource cannot send a bearer token).
-- Only a hash is stored.
CREATE TABLE event_tickets (
    user_id     uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    ticket_hash bytea NOT NULL,
    session_id  uuid,
    expires_at  timestamptz NOT NULL,
    PRIMARY KEY (user_id, ticket_hash)
);
CREATE INDEX event_tickets_expires_idx ON event_tickets (expires_at);
