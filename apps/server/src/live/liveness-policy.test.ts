import { describe, expect, it } from 'vitest';
import { loadConfig } from '../config.ts';
import { livenessDefaults, sessionLivenessPolicy, type LivenessDefaults } from './liveness-policy.ts';

const DEFAULTS: LivenessDefaults = livenessDefaults(loadConfig({}));

describe('liveness policy', () => {
  it('defaults: active, three challenges of the four offered actions (no blink), one retry', () => {
    expect(DEFAULTS).toEqual({
      mode: 'active',
      actions: ['smile', 'open_mouth', 'turn_left', 'turn_right'],
      challenges: 3,
      retries: 1,
      windowMs: 4000,
      neutralMs: 1000,
    });
    expect(sessionLivenessPolicy({ actions: [] }, DEFAULTS)).toEqual(DEFAULTS);
  });

  it('lets a tenant turn it off or narrow it; the count follows a narrower set', () => {
    expect(sessionLivenessPolicy({ mode: 'off', actions: [] }, DEFAULTS).mode).toBe('off');
    expect(sessionLivenessPolicy({ actions: ['smile', 'turn_left,smile'] }, DEFAULTS)).toMatchObject({
      actions: ['smile', 'turn_left'],
      challenges: 2,
    });
    expect(
      sessionLivenessPolicy({ actions: ['smile', 'open_mouth'], challenges: '1', retries: '0' }, DEFAULTS),
    ).toMatchObject({ challenges: 1, retries: 0 });
  });

  it.each([
    [{ mode: 'passive', actions: [] }, /liveness must be/],
    [{ actions: ['blink'] }, /not offered/],
    [{ actions: ['wink'] }, /not offered/],
    [{ actions: ['smile'], challenges: '2' }, /livenessChallenges must be an integer from 1 to 1/],
    [{ actions: [], challenges: '1.5' }, /livenessChallenges/],
    [{ actions: [], retries: '9' }, /livenessRetries/],
  ])('refuses %j with BAD_REQUEST', (fields, message) => {
    expect(() => sessionLivenessPolicy(fields, DEFAULTS)).toThrow(message);
    try {
      sessionLivenessPolicy(fields, DEFAULTS);
    } catch (error) {
      expect((error as { code: string }).code).toBe('BAD_REQUEST');
    }
  });

  it('names the setting when the configuration is inconsistent', () => {
    expect(() => loadConfig({ LIVENESS_ACTIONS: 'smile,wink' })).toThrow(/LIVENESS_ACTIONS.*wink/);
    expect(() => loadConfig({ LIVENESS_ACTIONS: 'smile', LIVENESS_CHALLENGES: '2' })).toThrow(
      /LIVENESS_CHALLENGES/,
    );
    expect(
      livenessDefaults(
        loadConfig({ LIVENESS: 'off', LIVENESS_ACTIONS: 'blink,smile', LIVENESS_CHALLENGES: '2' }),
      ),
    ).toMatchObject({
      mode: 'off',
      actions: ['blink', 'smile'],
    });
  });
});
