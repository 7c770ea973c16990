const COLORS = ['bg-sky-500', 'bg-violet-500', 'bg-emerald-500', 'bg-rose-500', 'bg-amber-500', 'bg-indigo-500', 'bg-teal-500', 'bg-fuchsia-500'];

function initials(name: string): string {
  return name
    .split(/\s+/)
    .filter(Boolean)
    .slice(0, 2)
    .map((word) => word[0]!.toUpperCase())
    .join('');
}

/** Initials on a colour picked from the handle, so each profile keeps its colour. */
export function Avatar({ username, displayName, size = 'md' }: { username: string; displayName: string; size?: 'md' | 'lg' }) {
  const hash = [...username].reduce((sum, char) => (sum * 31 + char.charCodeAt(0)) >>> 0, 7);
  const dimensions = size === 'lg' ? 'h-20 w-20 text-2xl ring-4 ring-white dark:ring-slate-900' : 'h-11 w-11 text-base';
  return (
    <span aria-hidden className={`flex shrink-0 items-center justify-center rounded-full font-semibold text-white ${COLORS[hash % COLORS.length]} ${dimensions}`}>
      {initials(displayName)}
    </span>
  );
}
