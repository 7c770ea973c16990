-- Demo profiles. ON CONFLICT DO NOTHING: running the seed again never duplicates
-- a profile or resets a counter that people have been clicking.
INSERT INTO profiles (username, display_name, bio, followers, followings, likes) VALUES
  ('alice',   'Alice Martin',    'Writes about databases that tell you when they change. Coffee first.',        1280,  312, 5420),
  ('bob',     'Bob Okafor',      'Cache invalidation survivor. Two hard problems, one left.',                     842,  451, 2210),
  ('carol',   'Carol Nguyen',    'Frontend engineer. Streams, signals and the occasional spinner.',               2315,  198, 9031),
  ('dave',    'Dave Kowalski',   'Postgres DBA by day, sourdough by night. VACUUM is self-care.',                 567,  620, 1187),
  ('erin',    'Erin Silva',      'SRE. If it is not measured it did not happen; if it pages, it is measured.',   1904,  275, 4410),
  ('frank',   'Frank Müller',    'Building realtime dashboards nobody asked for, and everybody uses.',            311,  143,  760),
  ('grace',   'Grace Ibrahim',   'Distributed systems reading group. Currently arguing about clocks.',           3120,  502, 12034),
  ('heidi',   'Heidi Tanaka',    'Redis at work, Redis at home. Pub/sub is my love language.',                    989,  388, 3305),
  ('ivan',    'Ivan Petrov',     'Open source maintainer. Please read the contributing guide.',                  4410,   97, 15322),
  ('judy',    'Judy Haddad',     'Product designer. Live numbers should feel calm, not jumpy.',                   722,  530, 2876)
ON CONFLICT (username) DO NOTHING;
