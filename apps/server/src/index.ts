export { buildApp, type AppOptions } from './app.ts';
export { loadConfig, ConfigSchema, type Config } from './config.ts';
export { buildWorkerApp } from './worker-app.ts';
export { QueueEmbedder, type QueueEmbedderOptions } from './distributed/queue-embedder.ts';
export { InferenceWorker, type InferenceWorkerOptions } from './distributed/inference-worker.ts';
export { newApiKey } from './tenants.ts';
