/** @type {import('next').NextConfig} */
const nextConfig = {
  reactStrictMode: true,
  poweredByHeader: false,
  // Loaded from node_modules at run time rather than bundled: pg and ioredis
  // hold sockets, and pino-pretty resolves its own modules dynamically.
  serverExternalPackages: ['pg', 'ioredis', 'pino', 'pino-pretty'],
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
