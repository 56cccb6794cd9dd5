-- What each content version made stale: the surrogate keys of the cached answers it touched,
-- space-separated (`*`: everything). Written by the change pipeline in the transaction of the
-- change; a node that sees the version move reads the rows it missed and forgets only those
-- answers. Only the newest few thousand are kept; a node further behind forgets everything.
CREATE TABLE content_changes (
    version BIGINT PRIMARY KEY NOT NULL,
    keys TEXT NOT NULL
);
