DROP TABLE content_changes;
