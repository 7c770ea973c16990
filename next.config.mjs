/** @type {import('next').NextConfig} */
const nextConfig = {
  reactStrictMode: true,
  poweredByHeader: false,
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
        ],
      },
    ];
  },
};

export default nextConfig;
