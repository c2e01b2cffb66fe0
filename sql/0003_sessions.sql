-- A session per sign-in. A token names its session (`sid`); deleting the row revokes the token on
-- every instance at once. Keyed by user first, like tasks, so it shards with its user.
CREATE TABLE sessions (
    id           uuid NOT NULL,
    user_id      uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    created_at   timestamptz NOT NULL DEFAULT now(),
    last_used_at timestamptz NOT NULL DEFAULT now(),
    expires_at   timestamptz NOT NULL,
    user_agent   text,
    PRIMARY KEY (user_id, id)
);
CREATE INDEX sessions_expires_idx ON sessions (expires_at);

-- Tokens issued before sessions existed carry no `sid`; they stay valid while their user exists,
-- until "sign out everywhere" or a password change sets this.
ALTER TABLE users ADD COLUMN legacy_tokens_revoked boolean NOT NULL DEFAULT false;

-- Is this token's session (or, for a token without one, its user) still valid? Folded into every
-- task statement, so an authenticated request costs one round trip. PL/pgSQL, not SQL: a SQL
-- function with sub-selects is not inlined and its body is planned again on every call (measured:
-- twice the database CPU of the whole task statement), while PL/pgSQL keeps its plans per connection.
CREATE FUNCTION session_ok(uid uuid, sid uuid) RETURNS boolean
LANGUAGE plpgsql STABLE AS $$
BEGIN
    IF sid IS NULL THEN
        RETURN EXISTS (SELECT 1 FROM users WHERE id = uid AND NOT legacy_tokens_revoked);
    END IF;
    RETURN EXISTS (SELECT 1 FROM sessions WHERE user_id = uid AND id = sid AND expires_at > now());
END
$$;

-- Sign-in and sign-up attempts per key (`signin:<address>:<email>`, `signin:<address>`,
-- `signup:<address>`), in fixed windows. Expired rows are purged as attempts arrive.
CREATE TABLE auth_throttle (
    key      text PRIMARY KEY,
    hits     integer NOT NULL,
    reset_at timestamptz NOT NULL
);
CREATE INDEX auth_throttle_reset_idx ON auth_throttle (reset_at);
