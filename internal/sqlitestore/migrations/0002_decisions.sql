-- Decisions and alerts (store.DecisionStore). Times are Unix microseconds,
-- UTC. data is the record as JSON (proxywatch.Decision, proxywatch.Alert),
-- so later fields need no migration; the other columns are for lookups.
-- skey is store.SubjectKey(subject): a subject has at most one decision.
-- kind is the kind name of the indicator that mirrors the decision in
-- feed 'decisions', so that it can be found again.
CREATE TABLE decisions (
	id      TEXT PRIMARY KEY,
	skey    BLOB NOT NULL UNIQUE,
	subject TEXT NOT NULL,
	kind    TEXT NOT NULL,
	created INTEGER NOT NULL,
	expires INTEGER NOT NULL,
	data    TEXT NOT NULL
) STRICT;
CREATE INDEX decisions_expires ON decisions (expires);

CREATE TABLE alerts (
	id       TEXT PRIMARY KEY,
	time     INTEGER NOT NULL,
	detector TEXT NOT NULL,
	data     TEXT NOT NULL
) STRICT;
CREATE INDEX alerts_time ON alerts (time);
