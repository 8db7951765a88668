import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { newApiKey, TenantRegistry } from './tenants.ts';

describe('TenantRegistry', () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'fv-tenants-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  const write = (content: unknown): string => {
    const file = path.join(dir, `${Math.random().toString(36).slice(2)}.json`);
    writeFileSync(file, typeof content === 'string' ? content : JSON.stringify(content));
    return file;
  };

  it('authenticates keys by hash and tells missing from invalid keys', () => {
    const acme = newApiKey();
    const globex = newApiKey();
    const registry = TenantRegistry.fromFile(
      write({
        tenants: [
          { id: 'acme', name: 'Acme', keySha256: [acme.sha256] },
          {
            id: 'globex',
            name: 'Globex',
            keySha256: [globex.sha256],
            allowedOrigins: ['https://globex.example'],
          },
        ],
      }),
    );
    expect(registry.authenticate(`Bearer ${acme.key}`).id).toBe('acme');
    const g = registry.authenticate(`Bearer ${globex.key}`);
    expect(g).toMatchObject({
      id: 'globex',
      allowedOrigins: ['https://globex.example'],
      maxConcurrentSessions: 50,
    });
    expect(() => registry.authenticate(undefined)).toThrow(
      expect.objectContaining({ code: 'API_KEY_REQUIRED' }),
    );
    for (const bad of [`Bearer ${newApiKey().key}`, acme.key, `Basic ${acme.key}`, 'Bearer x']) {
      expect(() => registry.authenticate(bad)).toThrow(expect.objectContaining({ code: 'INVALID_API_KEY' }));
    }
  });

  it('refuses a bad file at start-up with a message naming the problem', () => {
    const key = newApiKey();
    expect(() => TenantRegistry.fromFile(path.join(dir, 'missing.json'))).toThrow(/TENANTS_FILE/);
    expect(() => TenantRegistry.fromFile(write('{not json'))).toThrow(/TENANTS_FILE/);
    expect(() =>
      TenantRegistry.fromFile(write({ tenants: [{ id: 'acme', name: 'A', keySha256: ['abc'] }] })),
    ).toThrow(/keySha256/);
    expect(() =>
      TenantRegistry.fromFile(
        write({
          tenants: [
            { id: 'acme', name: 'A', keySha256: [key.sha256], allowedOrigins: ['https://a.example/x'] },
          ],
        }),
      ),
    ).toThrow(/allowedOrigins/);
    expect(() =>
      TenantRegistry.fromFile(
        write({
          tenants: [
            { id: 'a', name: 'A', keySha256: [key.sha256] },
            { id: 'b', name: 'B', keySha256: [key.sha256] },
          ],
        }),
      ),
    ).toThrow(/twice/);
    const withHook = write({
      tenants: [
        {
          id: 'a',
          name: 'A',
          keySha256: [key.sha256],
          webhook: { url: 'https://a.example/h', secretEnv: 'A_HOOK' },
        },
      ],
    });
    expect(() => TenantRegistry.fromFile(withHook, {})).toThrow(/A_HOOK/);
    expect(TenantRegistry.fromFile(withHook, { A_HOOK: 'x'.repeat(32) }).get('a')?.webhook).toEqual({
      url: 'https://a.example/h',
      secret: 'x'.repeat(32),
    });
  });
});
