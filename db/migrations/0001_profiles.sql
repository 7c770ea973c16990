-- Up Migration

CREATE TABLE profiles (
  username     text        PRIMARY KEY CONSTRAINT username_format CHECK (username ~ '^[a-z0-9_]{1,15}$'),
  display_name text        NOT NULL CONSTRAINT display_name_length CHECK (char_length(display_name) BETWEEN 1 AND 50),
  bio          text        NOT NULL DEFAULT '' CONSTRAINT bio_length CHECK (char_length(bio) <= 160),
  followers    bigint      NOT NULL DEFAULT 0 CONSTRAINT followers_not_negative CHECK (followers >= 0),
  followings   bigint      NOT NULL DEFAULT 0 CONSTRAINT followings_not_negative CHECK (followings >= 0),
  likes        bigint      NOT NULL DEFAULT 0 CONSTRAINT likes_not_negative CHECK (likes >= 0),
  version      bigint      NOT NULL DEFAULT 1,
  updated_at   timestamptz NOT NULL DEFAULT now()
);

-- The one definition of a profile's public JSON shape: the notification payload,
-- the endpoint's answer and the worker's resync all come from here, so they can
-- never disagree. Bounded columns keep it far below NOTIFY's 8000-byte limit.
CREATE FUNCTION profile_json(p profiles) RETURNS json
LANGUAGE sql STABLE AS $$
  SELECT json_build_object(
    'username',    p.username,
    'displayName', p.display_name,
    'bio',         p.bio,
    'followers',   p.followers,
    'followings',  p.followings,
    'likes',       p.likes,
    'version',     p.version,
    'updatedAt',   to_char(p.updated_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"')
  )
$$;

-- The database, not the application, raises the version: every writer (the
-- endpoint, psql, a migration) gets it for free, and no two changes share one.
CREATE FUNCTION profiles_bump_version() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
  NEW.version := OLD.version + 1;
  NEW.updated_at := clock_timestamp();
  RETURN NEW;
END
$$;

CREATE TRIGGER profiles_bump_version
  BEFORE UPDATE ON profiles
  FOR EACH ROW EXECUTE FUNCTION profiles_bump_version();

-- The only publisher: whoever changes a row, the cache hears of it.
-- NOTIFY is delivered at commit, so a rolled-back change is never published.
CREATE FUNCTION profiles_notify() RETURNS trigger
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

CREATE TRIGGER profiles_notify
  AFTER INSERT OR UPDATE OR DELETE ON profiles
  FOR EACH ROW EXECUTE FUNCTION profiles_notify();

-- Down Migration

DROP FUNCTION profile_json(profiles);
DROP TABLE profiles;
DROP FUNCTION profiles_notify();
DROP FUNCTION profiles_bump_version();
