// `npm run build -w @fv/server`: the server as plain JavaScript for `node`, so production runs no
// transpiler. One ESM bundle per process or thread entry (the gateway, a detect worker, the WebRTC
// host), flat in dist/ so each finds the others beside it. The workspace packages (@fv/*, shipped
// as TypeScript source) are bundled in; every npm dependency stays an external import, loaded from
// node_modules as usual (native addons, WASM and data files included).
import { build } from 'esbuild';
import { rm } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('.', import.meta.url));
const outdir = `${root}dist`;

/** Bare imports that are not workspace packages are npm dependencies: leave them to node. */
const externalDependencies = {
  name: 'external-dependencies',
  setup(builder) {
    builder.onResolve({ filter: /^[^./]/ }, (args) =>
      args.path.startsWith('@fv/') ? undefined : { path: args.path, external: true },
    );
  },
};

await rm(outdir, { recursive: true, force: true });
const started = performance.now();
await build({
  absWorkingDir: root,
  entryPoints: {
    server: 'src/server.ts',
    'detect-worker': 'src/live/detect-worker.ts',
    'webrtc-host': 'src/live/webrtc-host.ts',
  },
  outdir,
  bundle: true,
  platform: 'node',
  format: 'esm',
  target: 'node20',
  sourcemap: true,
  logLevel: 'warning',
  plugins: [externalDependencies],
});
console.log(`built ${outdir} in ${Math.round(performance.now() - started)} ms`);
