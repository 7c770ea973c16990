import { ProblemError } from '../http/problem';
import { isValidUsername } from '../profile';

export const MAX_STREAM_USERNAMES = 50;
// The limit counts names, so a name may repeat (u=alice&u=alice@3); this
// bounds the repeats, so a query's cost stays bounded too.
const MAX_U_PARAMETERS = 4 * MAX_STREAM_USERNAMES;

/**
 * What /stream was asked for: null for every profile; else the names to
 * watch, the version the client already shows for some of them (`u=alice@12`:
 * send alice only when newer than 12), and the epoch those versions belong to
 * (`epoch=`, optional: when it is not the server's, the versions are ignored).
 */
export type StreamQuery = { usernames: string[]; shown: Map<string, number>; epoch: string | null } | null;

const VERSION = /^[1-9][0-9]{0,15}$/;
const EPOCH = /^[A-Za-z0-9._-]{1,200}$/;

function invalid(value: string, why: string): ProblemError {
  const shown = value.length > 40 ? `${value.slice(0, 40)}…` : value;
  return new ProblemError('invalid-query', `u="${shown}" ${why}`);
}

export function parseStreamQuery(params: URLSearchParams): StreamQuery {
  const raw = params.getAll('u');
  const epochs = params.getAll('epoch');
  if (epochs.length > 1 || (epochs.length === 1 && !EPOCH.test(epochs[0]))) {
    throw new ProblemError('invalid-query', 'epoch must appear at most once and be the opaque string an `epoch` event gave you.');
  }
  if (raw.length === 0) return null;
  if (raw.length > MAX_U_PARAMETERS) {
    throw new ProblemError('invalid-query', `Give u at most ${MAX_U_PARAMETERS} times (at most ${MAX_STREAM_USERNAMES} different names); this request gave it ${raw.length} times.`);
  }
  const shown = new Map<string, number>();
  const always = new Set<string>();
  for (const value of raw) {
    const at = value.indexOf('@');
    const username = at < 0 ? value : value.slice(0, at);
    if (!isValidUsername(username)) {
      throw invalid(value, 'is not a username: usernames are 1 to 15 lowercase letters, digits or underscores, optionally followed by @ and the version you show.');
    }
    if (at < 0) {
      always.add(username);
      continue;
    }
    const version = value.slice(at + 1);
    if (!VERSION.test(version) || !Number.isSafeInteger(Number(version))) {
      throw invalid(value, 'has a version that is not a positive integer: write u=name or u=name@version, e.g. u=alice@12.');
    }
    // The same name twice: the smallest version (or none) wins, so nothing the client lacks is skipped.
    shown.set(username, Math.min(shown.get(username) ?? Infinity, Number(version)));
  }
  for (const username of always) shown.delete(username);
  const usernames = [...new Set(raw.map((value) => value.split('@')[0]))];
  if (usernames.length > MAX_STREAM_USERNAMES) {
    throw new ProblemError('invalid-query', `Name at most ${MAX_STREAM_USERNAMES} profiles with u; this request named ${usernames.length}.`);
  }
  return { usernames, shown, epoch: epochs[0] ?? null };
}
