DROP TABLE search_text_terms;
