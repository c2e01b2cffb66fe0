-- Personal access tokens, for scripts and CalDAV apps, which cannot sign in with JSON. Only a
-- SHA-256 of the secret is stored: the secret holds 256 random bits, so a fast hash is enough (no
-- bcrypt per request; CalDAV clients authenticate every request).
CREATE TABLE access_tokens (
    id           uuid PRIMARY KEY,
    user_id      uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    name         text NOT NULL CHECK (char_length(name) BETWEEN 1 AND 100),
    scope        text NOT NULL CHECK (scope IN ('read', 'write')),
    token_hash   bytea NOT NULL,
    created_at   timestamptz NOT NULL DEFAULT now(),
    expires_at   timestamptz,
    last_used_at timestamptz,
    CONSTRAINT access_tokens_hash_key UNIQUE (token_hash)
);
CREATE INDEX access_tokens_user_idx ON access_tokens (user_id);

-- A token's id stands where a session's would: every statement's session check accepts a live
-- token of the user as well. Sign-out everywhere and password changes end sessions, not tokens.
CREATE OR REPLACE FUNCTION session_ok(uid uuid, sid uuid) RETURNS boolean
LANGUAGE plpgsql STABLE AS $$
BEGIN
    IF sid IS NULL THEN
        RETURN EXISTS (SELECT 1 FROM users WHERE id = uid AND NOT legacy_tokens_revoked);
    END IF;
    RETURN EXISTS (SELECT 1 FROM sessions WHERE user_id = uid AND id = sid AND expires_at > now())
        OR EXISTS (SELECT 1 FROM access_tokens
                   WHERE user_id = uid AND id = sid AND coalesce(expires_at > now(), true));
END
$$;
