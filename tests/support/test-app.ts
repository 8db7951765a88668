import { readFileSync } from 'node:fs';
import path from 'node:path';
import { FaceVerifier } from '@fv/core';
import { buildApp, loadConfig } from '@fv/server';
import type { FastifyInstance } from 'fastify';
import { MODEL_DIR, sharedDataDir } from './shared-data.ts';

export interface TestApp {
  app: FastifyInstance;
  verifier: FaceVerifier;
  /** `ws://127.0.0.1:<port>` */
  wsBase: string;
  /** A session enrolled with person A's reference photo (open mode: no key). */
  createSession(): Promise<{ sessionId: string; token: string }>;
  close(): Promise<void>;
}

/** The real app on a free loopback port, with one verifier, as the stream suites use it. */
export async function startTestApp(env: Record<string, string> = {}): Promise<TestApp> {
  const verifier = await FaceVerifier.create({ modelDir: MODEL_DIR, embedder: { intraOpThreads: 1 } });
  const app = await buildApp({ config: loadConfig(env), verifier, logger: false });
  const address = await app.listen({ port: 0, host: '127.0.0.1' });
  const reference = readFileSync(path.join(sharedDataDir(), 'video', 'person-a_reference.jpg'));
  const { multipart } = await import('./live-client.ts');
  return {
    app,
    verifier,
    wsBase: address.replace('http', 'ws'),
    async createSession() {
      const res = await app.inject({
        method: 'POST',
        url: '/v1/sessions',
        ...multipart([['reference', reference]]),
      });
      if (res.statusCode !== 201)
        throw new Error(`POST /v1/sessions answered ${res.statusCode}: ${res.body}`);
      return res.json();
    },
    async close() {
      await app.close();
      await verifier.close();
    },
  };
}
