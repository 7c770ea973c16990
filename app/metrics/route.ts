import { getLiveHub } from '@/lib/live/hub';
import { metricsText } from '@/lib/metrics';
import { startWebAnnouncer } from '@/lib/ops/web-processes';
import { registerWebMetrics } from '@/lib/ops/web-metrics';

export const dynamic = 'force-dynamic';

// Prometheus scrape target for this web process. Scraping also starts the live
// hub, so a process that no tab has visited yet still counts the changes it hears.
export async function GET(): Promise<Response> {
  registerWebMetrics();
  getLiveHub();
  startWebAnnouncer();
  const { body, contentType } = await metricsText();
  return new Response(body, { headers: { 'Content-Type': contentType, 'Cache-Control': 'no-store' } });
}
