/** @type {import('next').NextConfig} */
const nextConfig = {
  reactStrictMode: true,
  poweredByHeader: false,
  // The web launcher (server/edge.ts) compresses pages, scripts and styles, and
  // never small JSON or SSE, where gzip costs CPU and saves nothing.
  compress: false,
  // Loaded from node_modules at run time rather than bundled: pg and ioredis
  // hold sockets, pino-pretty resolves its own modules dynamically, and
  // prom-client's registry must be one per process, not one per route bundle.
  serverExternalPackages: ['pg', 'ioredis', 'pino', 'pino-pretty', 'prom-client'],
  // Everywhere, pages and API alike; the Content-Security-Policy comes from proxy.ts (it needs a nonce per page).
  async headers() {
    return [
      {
        source: '/:path*',
        headers: [
          { key: 'X-Content-Type-Options', value: 'nosniff' },
          { key: 'Referrer-Policy', value: 'strict-origin-when-cross-origin' },
          { key: 'X-Frame-Options', value: 'DENY' },
          { key: 'Permissions-Policy', value: 'camera=(), microphone=(), geolocation=()' },
          // No other site's window keeps a handle on ours, and no other site may embed our responses.
          { key: 'Cross-Origin-Opener-Policy', value: 'same-origin' },
          { key: 'Cross-Origin-Resource-Policy', value: 'same-origin' },
        ],
      },
    ];
  },
};

export default nextConfig;
