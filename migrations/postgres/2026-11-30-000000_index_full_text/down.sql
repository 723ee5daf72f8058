DROP INDEX IF EXISTS search_text_trgm_idx;
