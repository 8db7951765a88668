import type { ChallengeResult, LivenessState } from '@fv/protocol';
import type { Plugin } from 'chart.js';
import { html, nothing, type TemplateResult } from 'lit';
import { ACTION_WORDS, FAILURE_WORDS } from './ops-format.ts';

type Status = ChallengeResult['status'];

/** Window fills and edge colours by challenge status (the dashboard's green / red / blue / grey). */
const FILL: Record<Status, string> = {
  waiting: 'rgb(138 148 163 / 0.14)',
  active: 'rgb(31 95 191 / 0.16)',
  passed: 'rgb(27 127 59 / 0.16)',
  failed: 'rgb(179 38 30 / 0.16)',
};
const EDGE: Record<Status, string> = {
  waiting: '#5b6372',
  active: '#1f5fbf',
  passed: '#1b7f3b',
  failed: '#b3261e',
};
const MARK: Record<Status, string> = { waiting: '', active: ' …', passed: ' ✓', failed: ' ✗' };

/** Challenges that have a window on the clock (drawn ones that were never scheduled have none). */
export const scheduled = (liveness: LivenessState | null): ChallengeResult[] =>
  liveness?.challenges.filter((c) => c.startsAt !== undefined) ?? [];

/**
 * A Chart.js plugin that marks liveness challenges on a time axis (`x`, epoch ms): each window
 * (`startsAt` to its decision, or to `deadline` while open) shaded by its status and labelled with its action, and a solid line
 * where it was decided. Drawn under the lines, clipped to the plot area.
 */
export function challengeMarks(challenges: () => readonly ChallengeResult[]): Plugin<'line'> {
  return {
    id: 'fvChallengeMarks',
    beforeDatasetsDraw(chart) {
      const x = chart.scales['x'];
      const area = chart.chartArea;
      if (!x || !area) return;
      const ctx = chart.ctx;
      ctx.save();
      ctx.beginPath();
      ctx.rect(area.left, area.top, area.right - area.left, area.bottom - area.top);
      ctx.clip();
      for (const c of challenges()) {
        if (c.startsAt === undefined) continue;
        const left = x.getPixelForValue(c.startsAt);
        // A window closes at its decision (a pass often comes early), else at its deadline.
        const right = x.getPixelForValue(c.decidedAt ?? c.deadline ?? c.startsAt);
        ctx.fillStyle = FILL[c.status];
        ctx.fillRect(left, area.top, Math.max(2, right - left), area.bottom - area.top);
        if (c.decidedAt !== undefined) {
          const at = x.getPixelForValue(c.decidedAt);
          ctx.strokeStyle = EDGE[c.status];
          ctx.lineWidth = 2;
          ctx.beginPath();
          ctx.moveTo(at, area.top);
          ctx.lineTo(at, area.bottom);
          ctx.stroke();
        }
        ctx.fillStyle = EDGE[c.status];
        ctx.font = '600 11px system-ui, -apple-system, "Segoe UI", Roboto, sans-serif';
        ctx.textBaseline = 'top';
        ctx.fillText(`${c.index + 1}. ${ACTION_WORDS[c.action]}${MARK[c.status]}`, left + 4, area.top + 4);
      }
      ctx.restore();
    },
  };
}

const STATUS_WORDS: Record<Status, string> = {
  waiting: 'Not asked yet',
  active: 'Asked now',
  passed: 'Passed',
  failed: 'Failed',
};

const seconds = (ms: number): string => `${(ms / 1000).toFixed(1)} s`;

/** The current (or last) sequence, one line per challenge, with when it was decided. */
export function challengeList(liveness: LivenessState | null, clock: (t: number) => string) {
  if (!liveness || liveness.mode === 'off')
    return html`<p class="note">Liveness is off for this session.</p>`;
  const attempts = liveness.attempt + liveness.retriesLeft;
  const steps = liveness.challenges;
  return html`
    <p class="note">
      ${
        steps.length === 0
          ? 'No challenges drawn yet: they are drawn once the face matches.'
          : `Attempt ${liveness.attempt} of ${attempts}. Challenge windows are shaded on the timeline (green passed, red failed); a line marks each decision.`
      }
    </p>
    ${
      steps.length === 0
        ? nothing
        : html`<ol class="challenges" data-testid="ops-challenges">
            ${steps.map((c) => challengeLine(c, clock))}
          </ol>`
    }
  `;
}

function challengeLine(c: ChallengeResult, clock: (t: number) => string): TemplateResult {
  const when =
    c.decidedAt !== undefined
      ? `${clock(c.decidedAt)}${c.startsAt !== undefined ? `, after ${seconds(c.decidedAt - c.startsAt)}` : ''}`
      : c.startsAt !== undefined
        ? `window from ${clock(c.startsAt)}`
        : '';
  return html`<li data-testid="ops-challenge" data-status=${c.status}>
    <span class="what">${c.index + 1}. ${ACTION_WORDS[c.action]}</span>
    <span class="lv-${c.status}"
      >${STATUS_WORDS[c.status]}${c.reason ? ` (${FAILURE_WORDS[c.reason]})` : ''}</span
    >
    <span class="note">${when}</span>
  </li>`;
}
