-- Users sign in by e-mail; the address is stored lower-cased so uniqueness ignores letter case.
CREATE TABLE users (
    id            uuid PRIMARY KEY,
    email         text NOT NULL,
    name          text NOT NULL,
    password_hash text NOT NULL,
    created_at    timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT users_email_key UNIQUE (email),
    CONSTRAINT users_email_lower CHECK (email = lower(email))
);

-- The primary key leads with user_id: every task query filters by it, and a distributed
-- PostgreSQL (Citus) can shard on it without a schema change.
CREATE TABLE tasks (
    id          bigint GENERATED ALWAYS AS IDENTITY,
    user_id     uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    title       text NOT NULL CHECK (char_length(title) BETWEEN 1 AND 200),
    description text CHECK (char_length(description) <= 1000),
    completed   boolean NOT NULL DEFAULT false,
    created_at  timestamptz NOT NULL DEFAULT now(),
    updated_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (user_id, id)
);

-- Serves every list: WHERE user_id = $1 [AND completed = $2] ORDER BY created_at DESC, id DESC,
-- and the keyset (created_at, id) < ($3, $4) of the next page.
CREATE INDEX tasks_user_created_idx ON tasks (user_id, created_at DESC, id DESC) INCLUDE (completed);
