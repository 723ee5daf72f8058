DROP TRIGGER search_text_delete;
DROP TRIGGER search_text_insert;
DROP TABLE search_text;
