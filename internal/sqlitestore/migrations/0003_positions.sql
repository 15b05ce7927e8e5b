-- Positions of log sources (store.PositionStore), committed together with
-- the decisions and alerts derived from the lines before them. pos is the
-- log watcher's encoding of its checkpoint, opaque to the store; updated
-- is Unix microseconds, UTC.
CREATE TABLE positions (
	source  TEXT PRIMARY KEY,
	pos     BLOB NOT NULL,
	updated INTEGER NOT NULL
) STRICT;
