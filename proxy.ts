import { NextResponse, type NextRequest } from 'next/server';

// A fresh nonce per page view: Next puts it on its own inline scripts, so the
// policy can refuse every other inline script without 'unsafe-inline'.
export function proxy(request: NextRequest): NextResponse {
  const nonce = Buffer.from(crypto.randomUUID()).toString('base64');
  const development = process.env.NODE_ENV === 'development';
  const policy = [
    "default-src 'self'",
    // React needs eval only for its development error overlays.
    `script-src 'self' 'nonce-${nonce}' 'strict-dynamic'${development ? " 'unsafe-eval'" : ''}`,
    `style-src 'self' 'nonce-${nonce}'${development ? " 'unsafe-inline'" : ''}`,
    "img-src 'self' data:",
    "font-src 'self'",
    "connect-src 'self'",
    // The SharedWorker that holds the browser's one live stream for all its tabs.
    "worker-src 'self'",
    "object-src 'none'",
    "base-uri 'self'",
    "form-action 'self'",
    "frame-ancestors 'none'",
  ].join('; ');

  const requestHeaders = new Headers(request.headers);
  requestHeaders.set('x-nonce', nonce);
  requestHeaders.set('Content-Security-Policy', policy);
  const response = NextResponse.next({ request: { headers: requestHeaders } });
  response.headers.set('Content-Security-Policy', policy);
  return response;
}

export const config = {
  // Every page, prefetches included (a prefetched page is still HTML a browser
  // may render). Only the JSON and SSE routes and static files are left out:
  // they serve no HTML. Exact names, so a profile called "streamer" is a page.
  matcher: ['/((?!v1/|stream$|healthz$|metrics$|_next/static/|_next/image|favicon\\.svg$).*)'],
};
