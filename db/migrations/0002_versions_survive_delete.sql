-- Up Migration

-- A profile deleted and created again must not restart at version 1: a cache
-- that still holds the old row (the worker missed the DELETE) would refuse
-- every lower version forever. The last version of a deleted username is kept
-- here, and a new row with that username continues from it.
CREATE TABLE profile_tombstones (
  username   text        PRIMARY KEY,
  version    bigint      NOT NULL,
  deleted_at timestamptz NOT NULL DEFAULT now()
);

CREATE FUNCTION profiles_continue_version() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP = 'DELETE' THEN
    INSERT INTO profile_tombstones (username, version) VALUES (OLD.username, OLD.version)
    ON CONFLICT (username) DO UPDATE SET version = GREATEST(profile_tombstones.version, EXCLUDED.version), deleted_at = now();
    RETURN OLD;
  END IF;
  DELETE FROM profile_tombstones t WHERE t.username = NEW.username RETURNING t.version + 1 INTO NEW.version;
  NEW.version := COALESCE(NEW.version, 1);
  RETURN NEW;
END
$$;

CREATE TRIGGER profiles_continue_version
  BEFORE INSERT OR DELETE ON profiles
  FOR EACH ROW EXECUTE FUNCTION profiles_continue_version();

-- Down Migration

DROP TRIGGER profiles_continue_version ON profiles;
DROP FUNCTION profiles_continue_version();
DROP TABLE profile_tombstones;
