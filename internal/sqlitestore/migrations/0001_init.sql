-- Feeds and their state. Times are Unix microseconds, UTC; NULL for zero.
CREATE TABLE feeds (
	name          TEXT PRIMARY KEY,
	format        TEXT NOT NULL DEFAULT '',
	source        TEXT NOT NULL DEFAULT '',
	last_fetch    INTEGER,
	last_good     INTEGER,
	etag          TEXT NOT NULL DEFAULT '',
	last_modified TEXT NOT NULL DEFAULT '',
	accepted      INTEGER NOT NULL DEFAULT 0,
	refused       INTEGER NOT NULL DEFAULT 0,
	excluded      INTEGER NOT NULL DEFAULT 0,
	guard_refused INTEGER NOT NULL DEFAULT 0,
	duplicates    INTEGER NOT NULL DEFAULT 0,
	holds         INTEGER NOT NULL DEFAULT 0,
	last_error    TEXT NOT NULL DEFAULT '',
	indicators    INTEGER NOT NULL DEFAULT 0
) STRICT;

-- Indicators. subject is proxywatch.Subject.String(); skey is
-- store.SubjectKey(subject), a byte key under which an exact subject and
-- the prefixes covering an address (one key per prefix length) are index
-- probes. kind is the kind's name, so reordering the Go constants changes
-- nothing.
CREATE TABLE indicators (
	id         INTEGER PRIMARY KEY,
	feed       TEXT NOT NULL REFERENCES feeds (name) ON DELETE CASCADE,
	skey       BLOB NOT NULL,
	subject    TEXT NOT NULL,
	kind       TEXT NOT NULL,
	port       INTEGER NOT NULL,
	proto      TEXT NOT NULL,
	section    TEXT NOT NULL,
	line       INTEGER NOT NULL,
	confidence INTEGER NOT NULL,
	tags       TEXT,
	comment    TEXT NOT NULL,
	first_seen INTEGER,
	last_seen  INTEGER,
	expires    INTEGER
) STRICT;

-- The identity of an indicator (proxywatch.Key), led by the subject key so
-- that it also serves subject and covering lookups.
CREATE UNIQUE INDEX indicators_key ON indicators (skey, feed, kind, port, proto);
-- Rows of one feed; a bulk import appends to it in rowid order.
CREATE INDEX indicators_feed ON indicators (feed);

-- The change log that followers read. AUTOINCREMENT: a seq is never
-- reused, even after the newest rows are pruned.
CREATE TABLE changes (
	seq       INTEGER PRIMARY KEY AUTOINCREMENT,
	op        TEXT NOT NULL,
	feed      TEXT NOT NULL,
	indicator TEXT,
	time      INTEGER NOT NULL
) STRICT;

-- Small named values: 'changes_pruned_through' is the newest pruned seq.
CREATE TABLE meta (
	key   TEXT PRIMARY KEY,
	value INTEGER NOT NULL
) STRICT;
