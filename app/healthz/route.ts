import { checkHealth } from '@/lib/health';
import { json } from '@/lib/http';
import { problem } from '@/lib/problem';
import { getWriteStats } from '@/lib/profiles';

export const dynamic = 'force-dynamic';

export async function GET(): Promise<Response> {
  const health = await checkHealth();
  if (health.ok) return json({ status: 'ok', ...health, writes: getWriteStats() });
  const down = (['postgres', 'redis', 'worker'] as const).filter((part) => !health[part].ok);
  return problem('unavailable', `Not ready: ${down.join(', ')} ${down.length > 1 ? 'are' : 'is'} down.`, { down, ...health });
}
