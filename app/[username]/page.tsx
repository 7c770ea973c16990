import type { Metadata } from 'next';
import { notFound, permanentRedirect } from 'next/navigation';
import { cache } from 'react';
import { ProfileCard } from '@/components/profile-card';
import { isValidUsername } from '@/lib/profile';
import { getProfile } from '@/lib/reads/profile-reads';

export const dynamic = 'force-dynamic';

type Props = { params: Promise<{ username: string }> };

// cache(): the metadata and the page share one read per request.
const load = cache(async (raw: string) => (isValidUsername(raw) ? getProfile({ username: raw }) : null));

/** Handles are stored lowercase and matched without regard to case, as Twitter's are: /Alice is /alice. */
function canonical(raw: string): string {
  const lower = raw.toLowerCase();
  if (lower !== raw && isValidUsername(lower)) permanentRedirect(`/${lower}`);
  return raw;
}

export async function generateMetadata({ params }: Props): Promise<Metadata> {
  const profile = await load(canonical((await params).username));
  return { title: profile ? `${profile.displayName} (@${profile.username}) · Ripple` : 'Not found · Ripple' };
}

export default async function ProfilePage({ params }: Props) {
  const profile = await load(canonical((await params).username));
  if (!profile) notFound();
  return (
    <div className="mx-auto max-w-2xl">
      <ProfileCard initial={profile} epoch={null} />
    </div>
  );
}
