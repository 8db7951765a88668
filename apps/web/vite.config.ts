import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vite';

const here = (path: string): string => fileURLToPath(new URL(path, import.meta.url));
/** Where `npm run dev -w @fv/web` forwards API and WebSocket calls (the Fastify server). */
const api = process.env['FV_API_URL'] ?? 'http://127.0.0.1:8080';

// Three pages, one build: the demo (widget + Match), the iframe embed and the operator dashboard.
// The Fastify server serves `dist/` (`apps/server/src/routes/web.ts`); `npm run dev -w @fv/web`
// serves the sources with the API proxied.
export default defineConfig({
  root: here('.'),
  base: '/',
  build: {
    outDir: here('dist'),
    emptyOutDir: true,
    target: 'es2022',
    rollupOptions: {
      input: { index: here('index.html'), embed: here('embed.html'), ops: here('ops.html') },
    },
  },
  server: {
    proxy: { '/v1': { target: api, ws: true }, '/healthz': api, '/metrics': api },
  },
});
