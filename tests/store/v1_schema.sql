-- The version 1 layout of the pqtls store (src/store/store.c, schema_v1),
-- as a store written by that pqtls holds it: tests/store/test_store.sh
-- loads it with sqlite3 and psql plus two scans, then opens the store with
-- the current pqtls, which must upgrade it in place and keep the scans.
CREATE TABLE pqtls_meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE scans (scan_id TEXT PRIMARY KEY, started_at BIGINT NOT NULL,
  finished_at BIGINT, complete INTEGER NOT NULL DEFAULT 0);
CREATE TABLE results (scan_id TEXT NOT NULL REFERENCES scans(scan_id),
  target TEXT NOT NULL, stage INTEGER NOT NULL, flags INTEGER NOT NULL,
  error TEXT, ms INTEGER, PRIMARY KEY (scan_id, target));
INSERT INTO pqtls_meta (key, value) VALUES ('schema_version', '1');
INSERT INTO scans VALUES ('v1-a', 1733011200, 1733011500, 1);
INSERT INTO scans VALUES ('v1-b', 1733616000, 1733616300, 1);
INSERT INTO results VALUES ('v1-a', 'old1.example:443', 2, 0, NULL, 10);
INSERT INTO results VALUES ('v1-a', 'old2.example:443', 3, 0, NULL, 11);
INSERT INTO results VALUES ('v1-a', 'old3.example:443', 0, 0, NULL, 12);
INSERT INTO results VALUES ('v1-b', 'old1.example:443', 1, 0, NULL, 10);
INSERT INTO results VALUES ('v1-b', 'old2.example:443', 3, 0, NULL, 11);
INSERT INTO results VALUES ('v1-b', 'old4.example:443', 1, 0, NULL, 9);
