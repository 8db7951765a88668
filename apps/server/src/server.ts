// Entry point for `npm start`: configuration from the environment, then the app, then listen.
import { buildApp } from './app.ts';
import { buildWorkerApp } from './worker-app.ts';
import { loadConfig, type Config } from './config.ts';
import { applyHeapGrowth } from './v8-heap.ts';

let config: Config;
try {
  config = loadConfig();
} catch (error) {
  process.stderr.write(`configuration error: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(1);
}

// Before the app starts its worker threads, whose heaps follow the same rule.
applyHeapGrowth(config.V8_HEAP_GROWING_PERCENT);

const app = await (config.ROLE === 'worker' ? buildWorkerApp({ config }) : buildApp({ config })).catch(
  (error: unknown) => {
    process.stderr.write(`start-up failed: ${error instanceof Error ? error.message : String(error)}\n`);
    process.exit(1);
  },
);

let closing = false;
for (const signal of ['SIGTERM', 'SIGINT'] as const) {
  process.once(signal, () => {
    if (closing) return;
    closing = true;
    app.log.info({ signal }, 'draining');
    // close() stops accepting connections and waits for in-flight requests.
    app.close().then(
      () => process.exit(0),
      (error: unknown) => {
        app.log.error({ err: error }, 'shutdown failed');
        process.exit(1);
      },
    );
  });
}

await app.listen({ port: config.PORT, host: config.HOST });
