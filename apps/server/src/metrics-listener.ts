import Fastify, { type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import { installErrorHandler } from './errors.ts';

const metricsListeners = new WeakMap<FastifyInstance, FastifyInstance>();

/** The internal `/metrics` listener of an app built with METRICS_PORT (tests read its address). */
export function metricsListenerOf(app: FastifyInstance): FastifyInstance | undefined {
  return metricsListeners.get(app);
}

/**
 * `/metrics` alone on its own listener (METRICS_HOST:METRICS_PORT), where a private-network
 * Prometheus scrapes it and the public one never sees it. It binds when the app gets ready (on
 * listen), so a taken port stops start-up, and closes with the app.
 */
export function serveMetricsInternally(
  app: FastifyInstance,
  port: number,
  host: string,
  authorize: (request: FastifyRequest) => Promise<void>,
  send: (reply: FastifyReply) => Promise<string>,
): void {
  // Warnings and errors only: no log line per scrape.
  const internal = Fastify({ loggerInstance: app.log.child({ listener: 'metrics' }, { level: 'warn' }) });
  installErrorHandler(internal);
  internal.get('/metrics', { onRequest: authorize }, (_request, reply) => send(reply));
  metricsListeners.set(app, internal);
  let listening: Promise<string> | null = null;
  let closing: Promise<void> | null = null;
  app.addHook('onReady', async () => {
    app.log.info({ address: await (listening ??= internal.listen({ port, host })) }, 'metrics listener');
  });
  app.addHook('onClose', async () => {
    if (!listening) return;
    await listening.catch(() => undefined);
    await (closing ??= internal.close());
  });
}
