export { buildApp, type AppOptions } from './app.ts';
export { loadConfig, ConfigSchema, type Config } from './config.ts';
