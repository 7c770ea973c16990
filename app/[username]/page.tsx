import type { Metadata } from 'next';
import { notFound, permanentRedirect } from 'next/navigation';
import { cache } from 'react';
import { ProfileCard } from '@/components/profile-card';
import { getEpoch } from '@/lib/live/epoch';
import { isValidUsername } from '@/lib/profile';
import { getProfile } from '@/lib/reads/profile-reads';

export const dynamic = 'force-dynamic';

type Props = { params: Promise<{ username: string }> };

// cache(): the metadata and the page share one read per request. The epoch is
// read before the data: data newer than its label only makes the tab start over, never stick.
const load = cache(async (raw: string) => {
  if (!isValidUsername(raw)) return null;
  const epoch = await getEpoch();
  const profile = await getProfile({ username: raw });
  return profile ? { profile, epoch } : null;
});

/** Handles are stored lowercase and matched without regard to case, as Twitter's are: /Alice is /alice. */
function canonical(raw: string): string {
  const lower = raw.toLowerCase();
  if (lower !== raw && isValidUsername(lower)) permanentRedirect(`/${lower}`);
  return raw;
}

export async function generateMetadata({ params }: Props): Promise<Metadata> {
  const found = await load(canonical((await params).username));
  return { title: found ? `${found.profile.displayName} (@${found.profile.username}) · Ripple` : 'Not found · Ripple' };
}

export default async function ProfilePage({ params }: Props) {
  const found = await load(canonical((await params).username));
  if (!found) notFound();
  return (
    <div className="mx-auto max-w-2xl">
      <ProfileCard initial={found.profile} epoch={found.epoch} />
    </div>
  );
}
