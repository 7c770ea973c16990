-- Up Migration

-- The cache's version gate only accepts higher versions, so anything that
-- moves versions backwards (TRUNCATE, a restore, the database dropped and
-- created again, a failover that lost commits) would leave the cache ahead of
-- Postgres for good. The epoch names the data the versions belong to: it
-- changes whenever versions could have moved back, and the worker empties the
-- cache and starts over when the database's epoch differs from the cache's.

-- Raised by every TRUNCATE (row-level DELETE triggers do not fire for it, so
-- no tombstones are kept) and by a worker that finds a row's version lower
-- than the cache's (a restore made with triggers off).
CREATE TABLE cache_epoch_counter (
  id     boolean PRIMARY KEY DEFAULT true CONSTRAINT one_row CHECK (id),
  resets bigint  NOT NULL DEFAULT 0
);
INSERT INTO cache_epoch_counter DEFAULT VALUES;

-- The system identifier changes with a new cluster (initdb, a restore into
-- another cluster); the timeline with a point-in-time restore or a promoted
-- standby; the database OID when the database is dropped and created again;
-- the table OID when profiles is dropped and created again (pg_restore --clean);
-- the counter with TRUNCATE. Opaque to clients: they only compare it.
CREATE FUNCTION cache_epoch() RETURNS text
LANGUAGE sql STABLE AS $$
  SELECT concat_ws('.',
    s.system_identifier,
    ('x' || substr(pg_walfile_name(pg_current_wal_lsn()), 1, 8))::bit(32)::bigint,
    d.oid,
    to_regclass('profiles')::oid,
    c.resets)
  FROM pg_control_system() s, pg_database d, cache_epoch_counter c
  WHERE d.datname = current_database()
$$;

-- Raises the counter and tells every worker (on the channel they already
-- LISTEN to), in the same transaction as whatever moved the versions.
CREATE FUNCTION cache_epoch_advance() RETURNS text
LANGUAGE plpgsql AS $$
BEGIN
  UPDATE cache_epoch_counter SET resets = resets + 1;
  PERFORM pg_notify('profile_changes', '{"reset":true}');
  RETURN cache_epoch();
END
$$;

CREATE FUNCTION profiles_truncated() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
  PERFORM cache_epoch_advance();
  RETURN NULL;
END
$$;

CREATE TRIGGER profiles_truncated
  AFTER TRUNCATE ON profiles
  FOR EACH STATEMENT EXECUTE FUNCTION profiles_truncated();

-- A deletion now carries the version it deleted, so the cache can keep a
-- versioned tombstone and order the deletion against everything else through
-- the same gate: a late write of the deleted row is refused, a row created
-- again (which continues from that version) is accepted.
CREATE OR REPLACE FUNCTION profiles_notify() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP = 'DELETE' THEN
    PERFORM pg_notify('profile_changes', jsonb_build_object('username', OLD.username, 'version', OLD.version, 'deleted', true)::text);
  ELSE
    PERFORM pg_notify('profile_changes', profile_json(NEW)::text);
  END IF;
  RETURN NULL;
END
$$;

-- Down Migration

CREATE OR REPLACE FUNCTION profiles_notify() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP = 'DELETE' THEN
    PERFORM pg_notify('profile_changes', jsonb_build_object('username', OLD.username, 'deleted', true)::text);
  ELSE
    PERFORM pg_notify('profile_changes', profile_json(NEW)::text);
  END IF;
  RETURN NULL;
END
$$;
DROP TRIGGER profiles_truncated ON profiles;
DROP FUNCTION profiles_truncated();
DROP FUNCTION cache_epoch_advance();
DROP FUNCTION cache_epoch();
DROP TABLE cache_epoch_counter;
