-- Up Migration

-- Idempotency-Key: a write that applied is recorded with its key in the same
-- transaction as the write, so a retry answers the original profile and never
-- applies twice. A key is kept at least 24 h: an older row counts as absent,
-- and keyed writes remove a few expired rows each (apply_profile_deltas below),
-- so the table stays bounded without a timer anywhere.
CREATE TABLE idempotency_keys (
  key        text        PRIMARY KEY CONSTRAINT idempotency_key_format CHECK (key ~ '^[A-Za-z0-9_.:-]{1,100}$'),
  username   text        NOT NULL,
  followers  int         NOT NULL,
  followings int         NOT NULL,
  likes      int         NOT NULL,
  -- The committed profile the first answer carried; NULL only inside the
  -- transaction that reserved the key (other transactions wait for it).
  profile    json,
  created_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX idempotency_keys_created_at ON idempotency_keys (created_at);

-- apply_profile_deltas of 0003, with an Idempotency-Key per request (NULL for
-- none) and a bounded wait for every lock. Still one statement, one
-- transaction, one commit per batch; requests are still decided in arrival
-- order, each as if it ran alone, and rows are locked in username order.
--
-- Keys are reserved first, in key order, by inserting their rows (one INSERT;
-- only after it timed out waiting, one INSERT per key, to learn which): a concurrent
-- request with the same key (another batch, another web process) waits for
-- this transaction and then finds the key committed (it replays) or gone (it
-- applies). Keys before rows, each in a fixed order, so no two batches deadlock.
--
-- Every lock wait is bounded by the connection's lock_timeout. When one
-- expires, everything this call did is rolled back (the BEGIN ... EXCEPTION
-- block, one subtransaction per call), the requests that needed that row or
-- key are marked 'busy', and the rest run again without them: one row held by
-- someone else's long transaction costs the others one lock timeout (a key
-- held by a stuck duplicate two: the second finds which key), and the busy
-- requests changed nothing. statement_timeout bounds the whole call.
--
-- Outcomes, one row per request in request order: 'applied' (profile is the
-- committed row), 'replayed' (profile is the one the key's first answer
-- carried), 'not-found', 'below-zero:<counter>', 'key-reused' (the key was used
-- for another username or other deltas), 'busy' (a lock wait timed out).
CREATE FUNCTION apply_profile_deltas(usernames text[], followers int[], followings int[], likes int[], keys text[])
RETURNS TABLE (ord int, outcome text, profile json)
LANGUAGE plpgsql AS $$
DECLARE
  n int := cardinality(usernames);
  outcomes text[];
  profiles json[];
  busy boolean[] := array_fill(false, ARRAY[n]);
  reserved boolean[];
  first_of int[];
  got_keys text[];
  key_by_key boolean := false;
  has_keys boolean := EXISTS (SELECT 1 FROM unnest(keys) AS x WHERE x IS NOT NULL);
  -- What the statement running now may wait for: 'row:<username>' or 'key:<key>'.
  -- Plain variables keep their value when the block below is rolled back.
  waiting_on text;
  name text;
  k text;
  i int;
  j int;
  got boolean;
  stored idempotency_keys;
  cur_f bigint; cur_g bigint; cur_l bigint;
  add_f bigint; add_g bigint; add_l bigint;
  accepted boolean;
  marked boolean;
  committed json;
BEGIN
  IF has_keys THEN
    -- For a keyed request, the first request of this batch with the same key.
    first_of := ARRAY(
      SELECT CASE WHEN t.k IS NULL THEN NULL ELSE min(t.o) OVER (PARTITION BY t.k) END
      FROM unnest(keys) WITH ORDINALITY AS t(k, o) ORDER BY t.o);
  END IF;
  LOOP
    outcomes := array_fill(NULL::text, ARRAY[n]);
    profiles := array_fill(NULL::json, ARRAY[n]);
    reserved := array_fill(false, ARRAY[n]);
    BEGIN
      IF has_keys AND NOT key_by_key THEN
        -- All keys in one INSERT, in key order. If it times out waiting, the
        -- next attempt takes them one by one to learn which key it waited for.
        waiting_on := 'keys';
        WITH wanted AS (
          SELECT keys[o] AS k, o FROM generate_subscripts(keys, 1) AS o
          WHERE keys[o] IS NOT NULL AND first_of[o] = o AND NOT busy[o]
        ), reserving AS (
          INSERT INTO idempotency_keys AS ik (key, username, followers, followings, likes)
            SELECT w.k, usernames[w.o], followers[w.o], followings[w.o], likes[w.o] FROM wanted w ORDER BY w.k
            ON CONFLICT (key) DO UPDATE
              SET username = EXCLUDED.username, followers = EXCLUDED.followers, followings = EXCLUDED.followings,
                  likes = EXCLUDED.likes, profile = NULL, created_at = now()
              WHERE ik.created_at < now() - interval '24 hours'
            RETURNING ik.key
        )
        SELECT array_agg(r.key) INTO got_keys FROM reserving r;
        waiting_on := NULL;
        FOR i IN 1..n LOOP
          CONTINUE WHEN keys[i] IS NULL OR first_of[i] <> i OR busy[i];
          IF keys[i] = ANY (got_keys) THEN reserved[i] := true; END IF;
        END LOOP;
        -- The keys not reserved were already committed by someone else.
        FOR stored IN
          SELECT * FROM idempotency_keys s WHERE s.key = ANY (ARRAY(
            SELECT keys[o] FROM generate_subscripts(keys, 1) AS o
            WHERE keys[o] IS NOT NULL AND first_of[o] = o AND NOT busy[o] AND NOT reserved[o]))
        LOOP
          i := array_position(keys, stored.key);
          IF stored.username = usernames[i] AND stored.followers = followers[i]
             AND stored.followings = followings[i] AND stored.likes = likes[i] THEN
            outcomes[i] := 'replayed';
            profiles[i] := stored.profile;
          ELSE
            outcomes[i] := 'key-reused';
          END IF;
        END LOOP;
      ELSIF has_keys THEN
        FOR k, i IN
          SELECT t.k, t.o::int FROM unnest(keys) WITH ORDINALITY AS t(k, o)
          WHERE t.k IS NOT NULL AND first_of[t.o] = t.o AND NOT busy[t.o] ORDER BY t.k
        LOOP
          waiting_on := 'key:' || k;
          got := NULL;
          INSERT INTO idempotency_keys AS ik (key, username, followers, followings, likes)
            VALUES (k, usernames[i], followers[i], followings[i], likes[i])
            ON CONFLICT (key) DO UPDATE
              SET username = EXCLUDED.username, followers = EXCLUDED.followers, followings = EXCLUDED.followings,
                  likes = EXCLUDED.likes, profile = NULL, created_at = now()
              WHERE ik.created_at < now() - interval '24 hours'
            RETURNING true INTO got;
          waiting_on := NULL;
          IF got THEN
            reserved[i] := true;
          ELSE
            SELECT * INTO stored FROM idempotency_keys s WHERE s.key = k;
            IF stored.username = usernames[i] AND stored.followers = followers[i]
               AND stored.followings = followings[i] AND stored.likes = likes[i] THEN
              outcomes[i] := 'replayed';
              profiles[i] := stored.profile;
            ELSE
              outcomes[i] := 'key-reused';
            END IF;
          END IF;
        END LOOP;
      END IF;
      IF has_keys THEN
        -- A key sent twice in one batch: the later ones answer as the first did.
        FOR i IN 1..n LOOP
          CONTINUE WHEN keys[i] IS NULL OR first_of[i] = i OR busy[i];
          j := first_of[i];
          IF usernames[i] = usernames[j] AND followers[i] = followers[j] AND followings[i] = followings[j] AND likes[i] = likes[j] THEN
            outcomes[i] := 'duplicate';
          ELSE
            outcomes[i] := 'key-reused';
          END IF;
        END LOOP;
        -- Expired keys go a few at a time, never waiting for a row another batch is removing.
        IF true = ANY(reserved) THEN
          DELETE FROM idempotency_keys WHERE key IN (
            SELECT e.key FROM idempotency_keys e WHERE e.created_at < now() - interval '24 hours'
            ORDER BY e.created_at LIMIT 2 * array_length(array_positions(reserved, true), 1) FOR UPDATE SKIP LOCKED);
        END IF;
      END IF;

      FOR name IN
        SELECT DISTINCT usernames[o] FROM generate_subscripts(usernames, 1) AS o
        WHERE outcomes[o] IS NULL AND NOT busy[o] ORDER BY 1
      LOOP
        waiting_on := 'row:' || name;
        SELECT p.followers, p.followings, p.likes INTO cur_f, cur_g, cur_l
          FROM profiles p WHERE p.username = name FOR UPDATE;
        waiting_on := NULL;
        IF NOT FOUND THEN
          FOR i IN 1..n LOOP
            IF usernames[i] = name AND outcomes[i] IS NULL AND NOT busy[i] THEN outcomes[i] := 'not-found'; END IF;
          END LOOP;
          CONTINUE;
        END IF;
        add_f := 0; add_g := 0; add_l := 0; accepted := false;
        FOR i IN 1..n LOOP
          CONTINUE WHEN usernames[i] <> name OR outcomes[i] IS NOT NULL OR busy[i];
          IF cur_f + add_f + followers[i] < 0 THEN outcomes[i] := 'below-zero:followers';
          ELSIF cur_g + add_g + followings[i] < 0 THEN outcomes[i] := 'below-zero:followings';
          ELSIF cur_l + add_l + likes[i] < 0 THEN outcomes[i] := 'below-zero:likes';
          ELSE
            add_f := add_f + followers[i]; add_g := add_g + followings[i]; add_l := add_l + likes[i];
            outcomes[i] := 'applied';
            accepted := true;
          END IF;
        END LOOP;
        CONTINUE WHEN NOT accepted;
        -- Still deltas on the locked row, and the CHECK constraints still apply.
        UPDATE profiles p SET followers = p.followers + add_f, followings = p.followings + add_g, likes = p.likes + add_l
          WHERE p.username = name RETURNING profile_json(p) INTO committed;
        FOR i IN 1..n LOOP
          IF usernames[i] = name AND outcomes[i] = 'applied' AND NOT busy[i] THEN profiles[i] := committed; END IF;
        END LOOP;
      END LOOP;

      IF has_keys THEN
        FOR i IN 1..n LOOP
          CONTINUE WHEN outcomes[i] IS DISTINCT FROM 'duplicate';
          j := first_of[i];
          outcomes[i] := CASE outcomes[j] WHEN 'applied' THEN 'replayed' ELSE outcomes[j] END;
          profiles[i] := profiles[j];
        END LOOP;
        -- Only a write that applied keeps its key: a 404 or 409 changed nothing, so its retry is decided afresh.
        UPDATE idempotency_keys ik SET profile = profiles[t.o]
          FROM generate_subscripts(keys, 1) AS t(o)
          WHERE reserved[t.o] AND outcomes[t.o] = 'applied' AND ik.key = keys[t.o];
        DELETE FROM idempotency_keys ik
          WHERE ik.key = ANY (ARRAY(SELECT keys[o] FROM generate_subscripts(keys, 1) AS o WHERE reserved[o] AND outcomes[o] <> 'applied'));
      END IF;
      EXIT;
    EXCEPTION WHEN lock_not_available OR deadlock_detected THEN
      -- A wait this function did not start (none is expected) fails the whole statement.
      IF waiting_on IS NULL THEN RAISE; END IF;
      IF waiting_on = 'keys' THEN
        key_by_key := true;
        waiting_on := NULL;
        CONTINUE;
      END IF;
      marked := false;
      FOR i IN 1..n LOOP
        IF NOT busy[i] AND (waiting_on = 'row:' || usernames[i] OR waiting_on = 'key:' || keys[i]) THEN
          busy[i] := true;
          marked := true;
        END IF;
      END LOOP;
      -- Each round marks at least one request busy, so this loop ends.
      IF NOT marked THEN RAISE; END IF;
      waiting_on := NULL;
    END;
  END LOOP;
  RETURN QUERY
    SELECT s.i::int, CASE WHEN busy[s.i] THEN 'busy' ELSE outcomes[s.i] END, profiles[s.i]
    FROM generate_subscripts(usernames, 1) AS s(i) ORDER BY s.i;
END
$$;

-- Down Migration

DROP FUNCTION apply_profile_deltas(text[], int[], int[], int[], text[]);
DROP TABLE idempotency_keys;
