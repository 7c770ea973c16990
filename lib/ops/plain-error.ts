// Turns driver error messages into a sentence a person can act on, for the
// status page. The original message stays alongside for the curious.
const RULES: Array<[RegExp, (match: RegExpMatchArray, part: string) => string]> = [
  [/ECONNREFUSED\s*([\d.:a-f\[\]]+)?/i, (m, part) => `Nothing answers at ${m[1] ?? 'its address'}: ${part} is not running there, or listens on another port.`],
  [/ENOTFOUND|EAI_AGAIN/i, (_m, part) => `The host name in the ${part} URL does not resolve.`],
  [/password authentication failed|no pg_hba\.conf entry/i, () => 'PostgreSQL refused the login: check the user and password in DATABASE_URL.'],
  [/database "([^"]+)" does not exist/i, (m) => `The database "${m[1]}" does not exist: run \`npm run db:setup\`.`],
  [/relation "profiles" does not exist/i, () => 'The database has no profiles table: run `npm run db:setup`.'],
  [/the database system is (starting up|shutting down)/i, (m) => `PostgreSQL is ${m[1]}; it should answer again in a moment.`],
  [/terminating connection due to administrator command|Connection terminated/i, () => 'PostgreSQL closed the connection (it was probably restarted); reconnecting.'],
  [/timeout|timed out|no heartbeat answer/i, (_m, part) => `${part} did not answer in time: it may be overloaded or unreachable.`],
  [/NOAUTH|WRONGPASS/i, () => 'Redis wants a password: put it in REDIS_URL (redis://:password@host:6379).'],
  [/Connection is closed|Stream isn't writeable|ECONNRESET/i, (_m, part) => `The connection to ${part} dropped; reconnecting.`],
  [/no worker is running/i, () => 'No worker is running, so nothing copies changes into the cache. Start one with `npm run start:worker`.'],
  [/no worker is listening/i, () => 'Workers are running but none is connected to PostgreSQL right now.'],
];

export function plainError(message: string | null | undefined, part: string): string | null {
  if (!message) return null;
  for (const [pattern, explain] of RULES) {
    const match = message.match(pattern);
    if (match) return explain(match, part);
  }
  return message;
}
