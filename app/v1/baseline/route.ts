import { getConfig } from '@/lib/config';

export const dynamic = 'force-dynamic';

// The benchmark's floor, in the same build as Ripple: a bare route handler that
// answers constant JSON (the POST reads its body first, as any POST must). It
// exists only when BENCH_BASELINE_ROUTE=on, so production serves a 404 here.
const BODY = JSON.stringify({ ok: 1 });
const HEADERS = { 'Content-Type': 'application/json', 'Cache-Control': 'no-store' };

function absent(): Response {
  return new Response(null, { status: 404 });
}

export async function GET(): Promise<Response> {
  if (getConfig().BENCH_BASELINE_ROUTE !== 'on') return absent();
  return new Response(BODY, { headers: HEADERS });
}

export async function POST(request: Request): Promise<Response> {
  if (getConfig().BENCH_BASELINE_ROUTE !== 'on') return absent();
  await request.text();
  return new Response(BODY, { headers: HEADERS });
}
