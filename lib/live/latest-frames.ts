import type { Profile } from '../profile';

/**
 * What a slow stream still owes its client: only the newest frame per
 * profile. A client that falls behind gets the latest value once it catches
 * up, and the server holds at most one frame per watched profile instead of
 * an ever-growing buffer (the client drops older versions anyway).
 */
export class LatestFrames {
  private readonly pending = new Map<string, { frame: Uint8Array; version: number }>();

  get size(): number {
    return this.pending.size;
  }

  /** Keeps the frame unless a newer version of that profile is already waiting (a deletion counts as a version). */
  put(frame: Uint8Array, profile: Pick<Profile, 'username' | 'version'>): void {
    const waiting = this.pending.get(profile.username);
    if (waiting && waiting.version > profile.version) return;
    // Delete first so a replaced profile moves to the back: the oldest-waiting goes first.
    this.pending.delete(profile.username);
    this.pending.set(profile.username, { frame, version: profile.version });
  }

  /** Forgets everything waiting (a new epoch: those versions mean nothing now). */
  clear(): void {
    this.pending.clear();
  }

  /** Hands out frames, oldest-waiting first, while `room()` says there is room. */
  drain(room: () => boolean, write: (frame: Uint8Array) => void): void {
    for (const [username, { frame }] of this.pending) {
      if (!room()) return;
      this.pending.delete(username);
      write(frame);
    }
  }
}
