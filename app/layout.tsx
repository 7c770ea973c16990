import type { Metadata, Viewport } from 'next';
import Link from 'next/link';
import './globals.css';

export const metadata: Metadata = {
  title: 'Ripple',
  description: 'Live counters straight from PostgreSQL: NOTIFY, a worker, Redis and Server-Sent Events.',
  icons: { icon: '/favicon.svg' },
};

const navLink =
  'rounded-full px-3 py-1.5 text-slate-600 hover:bg-slate-100 hover:text-slate-900 focus-visible:outline-2 focus-visible:outline-sky-500 dark:text-slate-300 dark:hover:bg-slate-800 dark:hover:text-white';

export const viewport: Viewport = { width: 'device-width', initialScale: 1 };

export default function RootLayout({ children }: { children: React.ReactNode }) {
  return (
    <html lang="en">
      <body className="min-h-screen bg-slate-50 text-slate-900 antialiased dark:bg-slate-950 dark:text-slate-100">
        <header className="border-b border-slate-200 bg-white/80 backdrop-blur dark:border-slate-800 dark:bg-slate-900/80">
          <nav className="mx-auto flex max-w-5xl items-center justify-between gap-4 px-4 py-3">
            <Link href="/" className="flex items-center gap-2 text-lg font-bold tracking-tight">
              <span aria-hidden className="inline-block h-3 w-3 rounded-full bg-sky-500 ring-4 ring-sky-500/20" />
              Ripple
            </Link>
            <span className="hidden text-sm text-slate-500 sm:inline dark:text-slate-400">Postgres → Redis → your tab, live</span>
            <span className="flex gap-1 text-sm font-medium">
              <Link href="/" className={navLink}>
                Profiles
              </Link>
              <Link href="/status" className={navLink} data-testid="nav-status">
                Status
              </Link>
            </span>
          </nav>
        </header>
        <main className="mx-auto max-w-5xl px-4 py-6 sm:py-10">{children}</main>
      </body>
    </html>
  );
}
