ALTER TABLE search_index RESET (toast_tuple_target);
