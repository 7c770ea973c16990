import { ProfileList } from '@/components/profile-list';
import { getEpoch } from '@/lib/live/epoch';
import { MAX_STREAM_USERNAMES } from '@/lib/live/profile-stream';
import { listProfiles } from '@/lib/reads/profile-reads';

export const dynamic = 'force-dynamic';

export default async function HomePage() {
  // The epoch first, then the data: data newer than its label only makes the tab start over, never stick.
  const epoch = await getEpoch();
  // One stream carries every row's changes, so the list shows at most as many as one stream may name.
  const profiles = await listProfiles({ limit: MAX_STREAM_USERNAMES });
  return (
    <div className="mx-auto max-w-2xl space-y-6">
      <p className="text-slate-600 dark:text-slate-300">
        Open a profile in two tabs and press <strong>+</strong> in one: the other follows within milliseconds. Every
        number travels Postgres → NOTIFY → worker → Redis → Server-Sent Events.
      </p>
      <ProfileList initial={profiles} epoch={epoch} />
    </div>
  );
}
