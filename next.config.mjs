/** @type {import('next').NextConfig} */
const nextConfig = {
  reactStrictMode: true,
  poweredByHeader: false,
  // Loaded from node_modules at run time rather than bundled: pg and ioredis
  // hold sockets, pino-pretty resolves its own modules dynamically, and
  // prom-client's registry must be one per process, not one per route bundle.
  serverExternalPackages: ['pg', 'ioredis', 'pino', 'pino-pretty', 'prom-client'],
};

export default nextConfig;
