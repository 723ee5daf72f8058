-- The auth service's tables. Times are Unix milliseconds (UTC); JSON is stored as text.

-- Public halves of the ES256 keys that user tokens are signed with, so every replica can
-- verify every other's tokens. Private keys never leave the process that made them. A row
-- may be deleted once expires_at has passed: no unexpired token can carry its kid then.
CREATE TABLE auth_signing_keys (
    kid TEXT PRIMARY KEY NOT NULL,
    public_jwk TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL
);
CREATE INDEX auth_signing_keys_expires_at_idx ON auth_signing_keys (expires_at);

-- Sign-in sessions behind the refresh cookie. Only a SHA-256 of the random session token
-- is kept, so a leaked table cannot be replayed. `resolution` says whether the user was
-- found in the catalog at sign-in (`catalog`) or signed in without one (`fallback`).
CREATE TABLE auth_refresh_sessions (
    token_hash TEXT PRIMARY KEY NOT NULL,
    provider TEXT NOT NULL,
    user_entity_ref TEXT NOT NULL,
    ownership_entity_refs TEXT NOT NULL,
    profile TEXT NOT NULL,
    resolution TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL
);
CREATE INDEX auth_refresh_sessions_user_entity_ref_idx ON auth_refresh_sessions (user_entity_ref);
CREATE INDEX auth_refresh_sessions_expires_at_idx ON auth_refresh_sessions (expires_at);

-- Who did what to what, and whether it was allowed: append-only, read in id order.
CREATE TABLE audit_events (
    id BIGSERIAL PRIMARY KEY,
    at BIGINT NOT NULL,
    actor TEXT NOT NULL,
    action TEXT NOT NULL,
    target TEXT,
    outcome TEXT NOT NULL,
    details TEXT NOT NULL DEFAULT '{}'
);
CREATE INDEX audit_events_at_idx ON audit_events (at);
