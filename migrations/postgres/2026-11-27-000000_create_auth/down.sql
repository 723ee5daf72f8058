DROP TABLE audit_events;
DROP TABLE auth_refresh_sessions;
DROP TABLE auth_signing_keys;
