import multipart from '@fastify/multipart';
import { FaceVerifier, type ExecutionProvider } from '@fv/core';
import { PROTOCOL_VERSION } from '@fv/protocol';
import Fastify, { type FastifyInstance, type FastifyServerOptions } from 'fastify';
import type { Config } from './config.ts';
import { installErrorHandler } from './errors.ts';
import { verifyRoutes } from './routes/verify.ts';

export interface AppOptions {
  config: Config;
  /** An already loaded verifier (tests share one); otherwise one is loaded from `config.MODEL_DIR`. */
  verifier?: FaceVerifier;
  logger?: FastifyServerOptions['logger'];
}

/**
 * Builds the Fastify app (testable with `inject`). Loading the model is part of building: if it
 * fails, this rejects and the process must not start serving.
 */
export async function buildApp({ config, verifier, logger }: AppOptions): Promise<FastifyInstance> {
  const ownVerifier =
    verifier ??
    (await FaceVerifier.create({
      modelDir: config.MODEL_DIR,
      embedder: {
        executionProviders: config.EXECUTION_PROVIDERS.split(',') as ExecutionProvider[],
        intraOpThreads: config.INTRA_OP_THREADS,
      },
      decode: { maxBytes: config.MAX_IMAGE_BYTES, maxPixels: config.MAX_IMAGE_PIXELS },
    }));
  const app = Fastify({
    logger: logger ?? { level: config.LOG_LEVEL },
    // Two uploads per request at most; anything past this is refused before it is buffered.
    bodyLimit: 1024 * 1024,
  });
  if (!verifier) app.addHook('onClose', async () => ownVerifier.close());
  installErrorHandler(app);
  await app.register(multipart, {
    limits: { fileSize: config.MAX_IMAGE_BYTES, files: 2, fields: 0, parts: 2 },
  });
  app.get('/healthz', async () => ({ status: 'ok' }));
  app.get('/readyz', async () => ({
    status: 'ready',
    model: ownVerifier.embedder.manifest.name,
    threshold: ownVerifier.threshold,
    protocol: PROTOCOL_VERSION,
  }));
  await app.register(verifyRoutes, { verifier: ownVerifier, maxImageBytes: config.MAX_IMAGE_BYTES });
  return app;
}
