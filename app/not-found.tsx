import Link from 'next/link';

export default function NotFound() {
  return (
    <div className="mx-auto max-w-2xl rounded-3xl border border-slate-200 bg-white p-8 text-center dark:border-slate-800 dark:bg-slate-900">
      <h1 className="text-xl font-bold">No such profile</h1>
      <p className="mt-2 text-slate-500 dark:text-slate-400">
        Usernames are 1 to 15 lowercase letters, digits or underscores.
      </p>
      <Link href="/" className="mt-4 inline-block font-medium text-sky-600 hover:underline dark:text-sky-400">
        See all profiles
      </Link>
    </div>
  );
}
