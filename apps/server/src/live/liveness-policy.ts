import { VerificationError } from '@fv/core';
import { LIVENESS_ACTIONS, LIVENESS_LIMITS, type LivenessAction, type LivenessMode } from '@fv/protocol';
import type { Config } from '../config.ts';
import type { LivenessPolicy } from './liveness-check.ts';

/**
 * The server's liveness settings, from the configuration: what a session gets unless its tenant
 * narrows it, and the actions the server offers at all.
 */
export interface LivenessDefaults {
  readonly mode: LivenessMode;
  /** Actions the server offers (a session may ask for a subset). */
  readonly actions: readonly LivenessAction[];
  readonly challenges: number;
  readonly retries: number;
  readonly windowMs: number;
  readonly neutralMs: number;
}

/** The session form's liveness fields, as text (`POST /v1/sessions`). */
export interface LivenessFields {
  mode?: string;
  actions: string[];
  challenges?: string;
  retries?: string;
}

const isAction = (value: string): value is LivenessAction =>
  (LIVENESS_ACTIONS as readonly string[]).includes(value);

/** Parses a comma-separated action list (LIVENESS_ACTIONS); an unknown action names itself. */
export function parseActions(text: string, what: string): LivenessAction[] {
  const actions = text
    .split(',')
    .map((a) => a.trim())
    .filter((a) => a.length > 0);
  const unknown = actions.find((a) => !isAction(a));
  if (unknown !== undefined) {
    throw new Error(
      `${what}: unknown action ${JSON.stringify(unknown)} (known: ${LIVENESS_ACTIONS.join(', ')})`,
    );
  }
  if (actions.length === 0) throw new Error(`${what} names no action`);
  return [...new Set(actions as LivenessAction[])];
}

/** The defaults the configuration names; a bad combination names the setting. */
export function livenessDefaults(config: Config): LivenessDefaults {
  const actions = parseActions(config.LIVENESS_ACTIONS, 'LIVENESS_ACTIONS');
  if (config.LIVENESS_CHALLENGES > actions.length) {
    throw new Error(
      `LIVENESS_CHALLENGES (${config.LIVENESS_CHALLENGES}) exceeds the ${actions.length} LIVENESS_ACTIONS`,
    );
  }
  return {
    mode: config.LIVENESS,
    actions,
    challenges: config.LIVENESS_CHALLENGES,
    retries: config.LIVENESS_RETRIES,
    windowMs: config.LIVENESS_WINDOW_MS,
    neutralMs: config.LIVENESS_NEUTRAL_MS,
  };
}

const bad = (message: string): VerificationError => new VerificationError('BAD_REQUEST', message);

function integer(text: string, name: string, min: number, max: number): number {
  const value = Number(text);
  if (!(Number.isInteger(value) && value >= min && value <= max)) {
    throw bad(`${name} must be an integer from ${min} to ${max} (got ${JSON.stringify(text.slice(0, 20))}).`);
  }
  return value;
}

/**
 * A session's policy: the server's defaults, narrowed by the tenant's form fields. The tenant may
 * turn liveness off, pick a subset of the offered actions and the number of challenges (never more
 * than the actions it allows); anything else is BAD_REQUEST.
 */
export function sessionLivenessPolicy(fields: LivenessFields, defaults: LivenessDefaults): LivenessPolicy {
  let mode = defaults.mode;
  if (fields.mode !== undefined) {
    if (fields.mode !== 'active' && fields.mode !== 'off') {
      throw bad(`liveness must be "active" or "off" (got ${JSON.stringify(fields.mode.slice(0, 20))}).`);
    }
    mode = fields.mode;
  }
  let actions = [...defaults.actions];
  if (fields.actions.length > 0) {
    const asked = [...new Set(fields.actions.flatMap((a) => a.split(',')).map((a) => a.trim()))];
    const refused = asked.find((a) => !isAction(a) || !defaults.actions.includes(a));
    if (refused !== undefined) {
      throw bad(
        `livenessAction ${JSON.stringify(refused.slice(0, 20))} is not offered (offered: ${defaults.actions.join(', ')}).`,
      );
    }
    actions = asked as LivenessAction[];
  }
  const challenges =
    fields.challenges === undefined
      ? Math.min(defaults.challenges, actions.length)
      : integer(fields.challenges, 'livenessChallenges', LIVENESS_LIMITS.minChallenges, actions.length);
  const retries =
    fields.retries === undefined
      ? defaults.retries
      : integer(fields.retries, 'livenessRetries', 0, LIVENESS_LIMITS.maxAttempts - 1);
  return { mode, actions, challenges, retries, windowMs: defaults.windowMs, neutralMs: defaults.neutralMs };
}
