'use client';

import Link from 'next/link';
import { usePathname } from 'next/navigation';
import { isValidUsername } from '@/lib/profile';

/** What the missing path was: a well-formed name with no profile, something that is no username, or no page at all. */
function describe(pathname: string): { title: string; detail: string | null } {
  let path = pathname;
  try {
    path = decodeURIComponent(pathname);
  } catch {
    // A malformed escape: show the path as it came.
  }
  const segments = path.split('/').filter(Boolean);
  if (segments.length !== 1) return { title: 'No such page', detail: `There is nothing at ${path.slice(0, 80)}.` };
  const name = segments[0];
  const shown = name.length > 40 ? `${name.slice(0, 40)}…` : name;
  if (isValidUsername(name)) return { title: `There is no profile @${name}`, detail: null };
  return {
    title: 'No such profile',
    detail: `“${shown}” is not a username: usernames are 1 to 15 lowercase letters, digits or underscores.`,
  };
}

export default function NotFound() {
  const { title, detail } = describe(usePathname() ?? '/');
  return (
    <div className="mx-auto max-w-2xl rounded-3xl border border-slate-200 bg-white p-8 text-center dark:border-slate-800 dark:bg-slate-900">
      <h1 className="text-xl font-bold break-words">{title}</h1>
      {detail && <p className="mt-2 break-words text-slate-500 dark:text-slate-400">{detail}</p>}
      <Link href="/" className="mt-4 inline-block font-medium text-sky-600 hover:underline dark:text-sky-400">
        See all profiles
      </Link>
    </div>
  );
}
