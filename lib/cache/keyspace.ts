import calculateSlot from 'cluster-key-slot';

// Where the cache keeps each profile and where it announces each change.
//
// Every change is published twice: on the profile's own channel, which only
// web processes with a stream watching that profile subscribe to, and on a
// firehose channel for streams of every profile. A publish with no
// subscriber costs Redis next to nothing, so a process that watches 1 % of
// the profiles receives about 1 % of the changes.
//
// One Redis keeps today's names. On a Redis Cluster a script may only touch
// keys of one slot, and a sharded channel (SPUBLISH) lives on the shard of
// its slot, so names carry a hash tag: one of BUCKETS buckets per profile,
// shared by its key, its channel and its bucket's firehose channel. A bucket
// is the unit a gate call groups by: 128 spread evenly over a few dozen
// shards, and a resync page still fills calls of about 200 keys.

export const BUCKETS = 128;

export type Keyspace = {
  /** Whether names carry hash tags and channels are sharded (a Redis Cluster). */
  sharded: boolean;
  /** The command a gate script publishes with. */
  publish: 'PUBLISH' | 'SPUBLISH';
  profileKey(username: string): string;
  /** Where the profile's changes are published, for streams that watch it. */
  profileChannel(username: string): string;
  /** Where the profile's changes are published for streams of every profile. */
  firehoseChannel(username: string): string;
  /** Every firehose channel: what a stream of every profile subscribes to. */
  firehoseChannels: string[];
  /** Which gate call may carry this profile: its bucket on a cluster, one group on one Redis. */
  group(username: string): number;
  /** SCAN pattern for every profile key, and the username a key holds. */
  profilePattern: string;
  usernameOf(key: string): string;
  epochKey: string;
  epochChannel: string;
};

export function bucketOf(username: string): number {
  return calculateSlot(username) % BUCKETS;
}

export function createKeyspace(prefix: string, sharded: boolean): Keyspace {
  if (!sharded) {
    return {
      sharded,
      publish: 'PUBLISH',
      profileKey: (username) => `${prefix}profile:${username}`,
      profileChannel: (username) => `${prefix}profile-changes:${username}`,
      // The channel every change went to before channels per profile: readers of it keep working.
      firehoseChannel: () => `${prefix}profile-changes`,
      firehoseChannels: [`${prefix}profile-changes`],
      group: () => 0,
      profilePattern: `${prefix}profile:*`,
      usernameOf: (key) => key.slice(`${prefix}profile:`.length),
      epochKey: `${prefix}epoch`,
      epochChannel: `${prefix}epoch-changes`,
    };
  }
  const tag = (bucket: number) => `{b${bucket}}`;
  return {
    sharded,
    publish: 'SPUBLISH',
    profileKey: (username) => `${prefix}profile:${tag(bucketOf(username))}${username}`,
    profileChannel: (username) => `${prefix}profile-changes:${tag(bucketOf(username))}${username}`,
    firehoseChannel: (username) => `${prefix}profile-changes:${tag(bucketOf(username))}`,
    firehoseChannels: Array.from({ length: BUCKETS }, (_, bucket) => `${prefix}profile-changes:${tag(bucket)}`),
    group: bucketOf,
    profilePattern: `${prefix}profile:*`,
    usernameOf: (key) => key.slice(key.indexOf('}') + 1),
    // The epoch's key and channel share a tag, so its script may publish on that channel.
    epochKey: `${prefix}{epoch}`,
    epochChannel: `${prefix}{epoch}:changes`,
  };
}
