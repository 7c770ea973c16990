// Imported first by server/web.ts, before any module reads the configuration:
// the environment Next and Ripple's own modules expect of the launcher.
process.env.RIPPLE_WEB_LAUNCHER = '1';
// Telemetry off unless the operator says otherwise.
process.env.NEXT_TELEMETRY_DISABLED ??= '1';
if (!process.argv.includes('--dev')) (process.env as Record<string, string>).NODE_ENV = 'production';
