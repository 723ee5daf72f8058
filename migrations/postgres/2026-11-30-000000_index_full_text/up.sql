-- A trigram index of the values catalog searches look in (the fields Backstage's and
-- Portico's catalog pages send with a full-text term): a term of three or more characters
-- then finds its few entities through the index, where it used to test every value of the
-- key. Other keys, and shorter terms, are still scanned. Partial, so the other search rows
-- cost nothing.
--
-- pg_trgm ships with PostgreSQL and is a trusted extension (the database's owner may create
-- it), but a server without it still runs Portico: full-text filters then scan as before.
DO $$
BEGIN
    CREATE EXTENSION IF NOT EXISTS pg_trgm;
EXCEPTION WHEN OTHERS THEN
    RAISE WARNING 'pg_trgm is not available (%), so full-text filters scan instead of using an index', SQLERRM;
END
$$;

DO $$
BEGIN
    IF EXISTS (SELECT 1 FROM pg_extension WHERE extname = 'pg_trgm') THEN
        CREATE INDEX search_text_trgm_idx ON search USING gin (value gin_trgm_ops)
        WHERE key IN ('metadata.name', 'metadata.title', 'spec.profile.displayname');
    END IF;
EXCEPTION WHEN OTHERS THEN
    -- For example pg_trgm installed in a schema that is not on the search path.
    RAISE WARNING 'no trigram index (%), so full-text filters scan instead of using one', SQLERRM;
END
$$;
