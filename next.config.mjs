/** @type {import('next').NextConfig} */
const nextConfig = {
  reactStrictMode: true,
  poweredByHeader: false,
  // Loaded from node_modules at run time rather than bundled: pg and ioredis
  // hold sockets, and pino-pretty resolves its own modules dynamically.
  serverExternalPackages: ['pg', 'ioredis', 'pino', 'pino-pretty'],
};

export default nextConfig;
