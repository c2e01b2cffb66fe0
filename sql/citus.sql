-- Distributes the schema on Citus (docs/scaling.md, "Past one PostgreSQL: Citus"). Applied by
-- src/db/migrate.rs after the numbered migrations, once, when the database has the citus
-- extension and at least one worker; never on plain PostgreSQL.
--
-- A list, its tasks and everything numbered per list live on one shard (distributed by list id,
-- co-located). What every statement joins from whatever shard it runs on (users, sessions,
-- memberships, access tokens, a member's list events) is a reference table, copied to every node.

SET LOCAL citus.multi_shard_modify_mode = 'sequential';
-- Our triggers write only rows of their task's own list, on its shard.
SET LOCAL citus.enable_unsafe_triggers = on;

-- Once Citus knows a table, ALTER TABLE refuses most of this: first, keys that carry the list.
ALTER TABLE tasks ALTER COLUMN id DROP IDENTITY;
CREATE SEQUENCE task_ids AS bigint OWNED BY tasks.id;
SELECT setval('task_ids', coalesce((SELECT max(id) FROM tasks), 0) + 1, false);
ALTER TABLE tasks ALTER COLUMN id SET DEFAULT nextval('task_ids');
ALTER TABLE tasks DROP CONSTRAINT tasks_parent_id_fkey;
ALTER TABLE tasks DROP CONSTRAINT tasks_pkey;
ALTER TABLE tasks ADD PRIMARY KEY (list_id, id);
ALTER TABLE invitations DROP CONSTRAINT invitations_pkey;
ALTER TABLE invitations ADD PRIMARY KEY (list_id, id);

-- Foreign keys into lists come back after distribution, except from memberships: a reference
-- table may not point at a distributed one (drop_list removes the memberships itself).
ALTER TABLE memberships DROP CONSTRAINT memberships_list_id_fkey;
ALTER TABLE tasks DROP CONSTRAINT tasks_list_id_fkey;
ALTER TABLE invitations DROP CONSTRAINT invitations_list_id_fkey;
ALTER TABLE list_changes DROP CONSTRAINT list_changes_list_id_fkey;
ALTER TABLE list_tombstones DROP CONSTRAINT list_tombstones_list_id_fkey;
-- One default list per owner cannot be a unique index of a table distributed by id; sign-up
-- creates the one Inbox.
DROP INDEX lists_one_default_idx;

SELECT create_reference_table('users');
SELECT create_reference_table('sessions');
SELECT create_reference_table('access_tokens');
SELECT create_reference_table('memberships');
SELECT create_reference_table('list_feed');
SELECT create_distributed_table('lists', 'id');
SELECT create_distributed_table('tasks', 'list_id', colocate_with => 'lists');
SELECT create_distributed_table('list_changes', 'list_id', colocate_with => 'lists');
SELECT create_distributed_table('list_tombstones', 'list_id', colocate_with => 'lists');
SELECT create_distributed_table('invitations', 'list_id', colocate_with => 'lists');
SELECT create_distributed_table('dav_gone', 'list_id', colocate_with => 'lists');

ALTER TABLE tasks ADD FOREIGN KEY (list_id) REFERENCES lists (id) ON DELETE CASCADE;
ALTER TABLE tasks ADD FOREIGN KEY (list_id, parent_id) REFERENCES tasks (list_id, id)
    ON DELETE CASCADE;
ALTER TABLE invitations ADD FOREIGN KEY (list_id) REFERENCES lists (id) ON DELETE CASCADE;
ALTER TABLE list_changes ADD FOREIGN KEY (list_id) REFERENCES lists (id) ON DELETE CASCADE;
ALTER TABLE list_tombstones ADD FOREIGN KEY (list_id) REFERENCES lists (id) ON DELETE CASCADE;

-- The session check (session_ok) reads reference tables from inside a statement on a shard,
-- which Citus refuses by default: each node has the reference tables' rows, so the read is local.
ALTER ROLE CURRENT_USER SET citus.allow_nested_distributed_execution = on;
-- A write of many shards takes one connection per worker: a transaction may then write a
-- reference table (a member's number) after it, which Citus refuses after a parallel one.
ALTER ROLE CURRENT_USER SET citus.multi_shard_modify_mode = 'sequential';
-- A write of a task by id alone goes to every shard. Citus would lock every shard for it, and a
-- write routed to one shard waits on those locks while holding its list's row: deadlocks between
-- nodes. The rows' own locks order the writes (shards have one copy each, nothing to replicate).
ALTER ROLE CURRENT_USER SET citus.all_modifications_commutative = on;
