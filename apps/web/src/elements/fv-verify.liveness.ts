import { html, nothing, type TemplateResult } from 'lit';
import { keyed } from 'lit/directives/keyed.js';
import type { ChallengeResult, Decision, LivenessAction } from '@fv/protocol';
import type { LivenessController } from '../controllers/liveness-controller.ts';
import { actionIcon } from './fv-verify.icons.ts';
import { ACTION_TEXT, DECISION_TEXT, FAILURE_TEXT, NEUTRAL_PROMPT } from './fv-verify.text.ts';

type Liveness = Pick<
  LivenessController,
  'phase' | 'state' | 'challenge' | 'secondsLeft' | 'lastDecided' | 'retrying'
>;

/** What the prompt says: its glyph, a small line above it, and the instruction or result. */
interface Prompt {
  icon: LivenessAction | 'neutral' | 'passed' | 'failed' | 'wait';
  step: string;
  text: string;
  /** Said to screen readers only (after `text`). */
  extra: string;
}

function promptOf(liveness: Liveness): Prompt | null {
  const { state, challenge } = liveness;
  const count = state?.challenges.length ?? 0;
  switch (liveness.phase) {
    case 'off':
      return null;
    case 'waiting':
      return {
        icon: 'wait',
        step: 'Liveness check',
        text: 'Starts once your face matches the photo',
        extra: '',
      };
    case 'retrying':
      return { icon: 'wait', step: 'Liveness check', text: 'Starting again…', extra: '' };
    case 'lead-in': {
      const last = liveness.lastDecided;
      return {
        icon: 'neutral',
        step: last?.status === 'passed' ? `Step ${last.index + 1} done. Get ready` : 'Get ready',
        text: NEUTRAL_PROMPT,
        extra: '',
      };
    }
    case 'challenge': {
      const c = challenge!;
      return {
        icon: c.action,
        step: `Step ${c.index + 1} of ${c.count}`,
        text: ACTION_TEXT[c.action].prompt,
        extra: `You have ${Math.round(c.windowMs / 1000)} seconds.`,
      };
    }
    case 'passed':
      return {
        icon: 'passed',
        step: count > 1 ? `All ${count} steps done` : 'Step done',
        text: 'Liveness check passed',
        extra: '',
      };
    case 'failed': {
      const failed = state?.challenges.find((c) => c.status === 'failed');
      const retries = state?.retriesLeft ?? 0;
      return {
        icon: 'failed',
        step: failed ? `Step ${failed.index + 1}: ${ACTION_TEXT[failed.action].short}` : 'Liveness check',
        text: 'Liveness check failed',
        extra: `${failed?.reason ? FAILURE_TEXT[failed.reason] : ''}${retries > 0 ? ' You can try again.' : ''}`,
      };
    }
  }
}

function promptIcon(icon: Prompt['icon']): TemplateResult {
  if (icon === 'passed') return html`<span class="mark" aria-hidden="true">✓</span>`;
  if (icon === 'failed') return html`<span class="mark" aria-hidden="true">✗</span>`;
  if (icon === 'wait') return html`<span class="mark" aria-hidden="true">…</span>`;
  return actionIcon(icon);
}

const STEP_STATUS: Record<ChallengeResult['status'], { mark: string; words: string }> = {
  waiting: { mark: '○', words: 'to do' },
  active: { mark: '●', words: 'now' },
  passed: { mark: '✓', words: 'passed' },
  failed: { mark: '✗', words: 'failed' },
};

function stepView(c: ChallengeResult, current: number | null): TemplateResult {
  const status = c.index === current ? 'active' : c.status;
  const { mark, words } = STEP_STATUS[status];
  return html`<li class="step st-${status}" data-testid="fv-liveness-step" data-status=${status}>
    <span class="step-icon">${actionIcon(c.action)}</span>
    <span class="step-name">${ACTION_TEXT[c.action].short}</span>
    <span class="step-mark" aria-hidden="true">${mark}</span>
    <span class="sr-only">: ${words}${c.reason ? ` (${FAILURE_TEXT[c.reason]})` : ''}</span>
  </li>`;
}

/**
 * The liveness step (the `liveness` part): the prompt in an `aria-live="polite"` region (it
 * changes once per instruction; the countdown beside it is hidden from screen readers, so it is
 * not read every second), the countdown, the steps with their outcome, and the retry button when
 * the session allows one. Nothing for sessions without liveness.
 */
export function livenessView(liveness: Liveness, onRetry: () => void): TemplateResult | typeof nothing {
  const prompt = promptOf(liveness);
  if (!prompt) return nothing;
  const { phase, state, challenge } = liveness;
  const steps = state?.challenges ?? [];
  const attempts = state ? state.attempt + state.retriesLeft : 0;
  const canRetry = phase === 'failed' && (state?.retriesLeft ?? 0) > 0;
  return html`<section
    class="liveness l-${phase}"
    part="liveness"
    data-testid="fv-liveness"
    data-phase=${phase}
  >
    <div
      class="prompt"
      role="status"
      aria-live="polite"
      aria-atomic="true"
      data-testid="fv-challenge"
      data-action=${challenge?.action ?? ''}
    >
      <span class="prompt-icon">${promptIcon(prompt.icon)}</span>
      <span class="prompt-words">
        <span class="prompt-step"
          >${prompt.step}${attempts > 1 && state ? ` · attempt ${state.attempt} of ${attempts}` : ''}</span
        >
        <strong class="prompt-text">${prompt.text}</strong>
        ${prompt.extra ? html`<span class="prompt-extra">${prompt.extra}</span>` : nothing}
      </span>
    </div>
    ${
      challenge
        ? keyed(
            `${state?.attempt ?? 0}:${challenge.index}`,
            html`<div class="countdown" aria-hidden="true" data-testid="fv-countdown">
              <div class="track">
                <div class="fill" style="animation-duration: ${challenge.windowMs}ms"></div>
              </div>
              <span class="seconds">${liveness.secondsLeft} s</span>
            </div>`,
          )
        : nothing
    }
    ${
      steps.length > 0
        ? html`<ol class="steps" aria-label="Liveness steps">
            ${steps.map((c) => stepView(c, challenge?.index ?? null))}
          </ol>`
        : nothing
    }
    ${
      canRetry
        ? html`<button type="button" part="retry-button" data-testid="fv-liveness-retry" @click=${onRetry}>
            Try again
          </button>`
        : nothing
    }
  </section>`;
}

/**
 * The instruction over the camera preview while a sequence runs (where the person is looking).
 * Hidden from screen readers: the panel's prompt says the same in its live region.
 */
export function stageCue(liveness: Liveness): TemplateResult | typeof nothing {
  const { phase, challenge } = liveness;
  if (phase !== 'challenge' && phase !== 'lead-in') return nothing;
  const action = challenge?.action ?? 'neutral';
  return html`<div class="cue c-${phase}" aria-hidden="true" data-testid="fv-cue">
    <span class="cue-icon">${actionIcon(action)}</span>
    <span class="cue-text">${challenge ? ACTION_TEXT[challenge.action].prompt : NEUTRAL_PROMPT}</span>
    ${challenge ? html`<span class="cue-seconds">${liveness.secondsLeft}</span>` : nothing}
  </div>`;
}

/**
 * The session's decision (the `decision` part): `Verified` / `Not verified` once there is one. The
 * live region is always there (empty and unseen while pending), so its first words are announced.
 */
export function decisionView(decision: Decision): TemplateResult {
  const shown = decision === 'pending' ? null : DECISION_TEXT[decision];
  return html`<div
    class="decision d-${decision}"
    part="decision"
    role="status"
    aria-live="polite"
    data-testid="fv-decision"
  >
    ${shown ? html`<span class="icon" aria-hidden="true">${shown.icon}</span><span>${shown.label}</span>` : nothing}
  </div>`;
}
