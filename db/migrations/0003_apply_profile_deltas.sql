-- Up Migration

-- A batch of POSTs in one statement (one round trip, one transaction, one
-- commit): request i adds followers[i], followings[i], likes[i] to usernames[i].
-- Requests are decided in arrival order, each as if it ran alone: one whose own
-- deltas would take a counter below zero is refused and changes nothing, the
-- others apply. Rows are locked in username order, so concurrent batches never
-- deadlock, and each touched profile gets one UPDATE with its accepted total:
-- its version rises by one, and every request on it gets that committed row.
-- Returns one row per request, in request order: outcome is 'applied',
-- 'not-found' or 'below-zero:<counter>'; profile is set when applied.
CREATE FUNCTION apply_profile_deltas(usernames text[], followers int[], followings int[], likes int[])
RETURNS TABLE (ord int, outcome text, profile json)
LANGUAGE plpgsql AS $$
DECLARE
  n int := cardinality(usernames);
  outcomes text[] := array_fill(NULL::text, ARRAY[n]);
  profiles json[] := array_fill(NULL::json, ARRAY[n]);
  name text;
  i int;
  cur_f bigint; cur_g bigint; cur_l bigint;
  add_f bigint; add_g bigint; add_l bigint;
  accepted boolean;
  committed json;
BEGIN
  FOR name IN SELECT DISTINCT u FROM unnest(usernames) AS u ORDER BY u LOOP
    SELECT p.followers, p.followings, p.likes INTO cur_f, cur_g, cur_l
      FROM profiles p WHERE p.username = name FOR UPDATE;
    IF NOT FOUND THEN
      FOR i IN 1..n LOOP
        IF usernames[i] = name THEN outcomes[i] := 'not-found'; END IF;
      END LOOP;
      CONTINUE;
    END IF;
    add_f := 0; add_g := 0; add_l := 0; accepted := false;
    FOR i IN 1..n LOOP
      CONTINUE WHEN usernames[i] <> name;
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
      IF usernames[i] = name AND outcomes[i] = 'applied' THEN profiles[i] := committed; END IF;
    END LOOP;
  END LOOP;
  RETURN QUERY SELECT s.i::int, outcomes[s.i], profiles[s.i] FROM generate_subscripts(usernames, 1) AS s(i) ORDER BY s.i;
END
$$;

-- Down Migration

DROP FUNCTION apply_profile_deltas(text[], int[], int[], int[]);
