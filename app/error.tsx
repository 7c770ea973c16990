'use client';

export default function ErrorPage({ reset }: { error: Error; reset: () => void }) {
  return (
    <div role="alert" className="mx-auto max-w-2xl rounded-3xl border border-rose-200 bg-white p-8 text-center dark:border-rose-900 dark:bg-slate-900">
      <h1 className="text-xl font-bold">Ripple can&apos;t load this page right now</h1>
      <p className="mt-2 text-slate-500 dark:text-slate-400">
        The database or cache may be restarting. Nothing you did was lost; try again in a few seconds.
      </p>
      <button
        type="button"
        onClick={reset}
        className="mt-4 rounded-full bg-sky-600 px-4 py-2 font-medium text-white hover:bg-sky-700 focus-visible:outline-2 focus-visible:outline-offset-2 focus-visible:outline-sky-500"
      >
        Try again
      </button>
    </div>
  );
}
