-- A trigram index of the values catalog searches look in (the fields Backstage's and
-- Portico's catalog pages send with a full-text term): a term of three or more characters
-- then finds its few entities through the index, where it used to test every value of the
-- key. Other keys, and shorter terms, are still scanned. Search rows are only ever inserted
-- and deleted, so two triggers keep the index in step with them.
CREATE VIRTUAL TABLE search_text USING fts5(
    value,
    content = 'search',
    content_rowid = 'id',
    tokenize = 'trigram'
);

CREATE TRIGGER search_text_insert AFTER INSERT ON search
WHEN new.key IN ('metadata.name', 'metadata.title', 'spec.profile.displayname')
    AND new.value IS NOT NULL
BEGIN
    INSERT INTO search_text (rowid, value) VALUES (new.id, new.value);
END;

CREATE TRIGGER search_text_delete AFTER DELETE ON search
WHEN old.key IN ('metadata.name', 'metadata.title', 'spec.profile.displayname')
    AND old.value IS NOT NULL
BEGIN
    INSERT INTO search_text (search_text, rowid, value) VALUES ('delete', old.id, old.value);
END;

INSERT INTO search_text (rowid, value)
SELECT id, value FROM search
WHERE key IN ('metadata.name', 'metadata.title', 'spec.profile.displayname')
    AND value IS NOT NULL;
