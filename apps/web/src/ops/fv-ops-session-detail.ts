import type { LivenessState, OpsPoint, OpsSession, Verdict } from '@fv/protocol';
import { LitElement, css, html, nothing, type PropertyValues } from 'lit';
import { Chart } from './charts.ts';
import { challengeList, challengeMarks, scheduled } from './liveness-marks.ts';
import {
  DECISION_WORDS,
  LIVENESS_WORDS,
  STATE_WORDS,
  TRANSPORT_WORDS,
  VERDICT_WORDS,
  formatAge,
  formatDistance,
} from './ops-format.ts';

interface VerdictSpan {
  readonly verdict: Verdict;
  readonly from: number;
  readonly to: number;
  readonly frames: number;
}

/** Consecutive frames with one verdict, newest first. */
function verdictSpans(points: readonly OpsPoint[]): VerdictSpan[] {
  const spans: VerdictSpan[] = [];
  for (const p of points) {
    const last = spans.at(-1);
    if (last && last.verdict === p.verdict)
      spans[spans.length - 1] = { ...last, to: p.t, frames: last.frames + 1 };
    else spans.push({ verdict: p.verdict, from: p.t, to: p.t, frames: 1 });
  }
  return spans.reverse();
}

const two = (n: number): string => String(n).padStart(2, '0');
/** `14:05:09`, local time: short enough for chart ticks at phone widths. */
const clock = (t: number): string => {
  const d = new Date(t);
  return `${two(d.getHours())}:${two(d.getMinutes())}:${two(d.getSeconds())}`;
};

type XY = { x: number; y: number | null };

/**
 * One session in detail: its score timeline (Chart.js: raw and smoothed distance with the threshold
 * line, liveness challenge windows shaded and their decisions marked), the verdict, liveness and
 * decision now (the verdict announced politely when it changes), the challenges and the verdict
 * history.
 *
 * Properties: `session` (its row from the latest snapshot; null once it has gone), `sessionId`,
 * `timeline` (points oldest first; null while loading), `liveness` (the session's liveness from the
 * feed's detail and points messages; null while loading), `error` (a message to show).
 *
 * Test hooks: the chart's box is `data-testid="ops-detail-chart"`, with `data-points` = points drawn
 * and `data-marks` = challenge windows marked; `ops-detail-liveness` and `ops-detail-decision` (with
 * `data-status` / `data-decision`); each challenge line `ops-challenge` (with `data-status`).
 *
 * @fires fv-ops-close - the operator asked to go back to the list
 * @csspart chart - the chart's box
 */
export class FvOpsSessionDetail extends LitElement {
  static override properties = {
    sessionId: { type: String, attribute: 'session-id' },
    session: { attribute: false },
    timeline: { attribute: false },
    liveness: { attribute: false },
    error: { type: String },
  };

  declare sessionId: string;
  declare session: OpsSession | null;
  declare timeline: readonly OpsPoint[] | null;
  declare liveness: LivenessState | null;
  declare error: string | null;
  #chart: Chart<'line', XY[]> | null = null;

  constructor() {
    super();
    this.sessionId = '';
    this.session = null;
    this.timeline = null;
    this.liveness = null;
    this.error = null;
  }

  static override styles = css`
    :host {
      display: block;
    }
    header {
      display: flex;
      flex-wrap: wrap;
      align-items: center;
      gap: 0.5rem 1rem;
      margin-bottom: 0.75rem;
    }
    h2 {
      margin: 0;
      font-size: 1.125rem;
      font-family: ui-monospace, SFMono-Regular, Menlo, Consolas, monospace;
      overflow-wrap: anywhere;
    }
    button {
      font: inherit;
      padding: 0.4rem 0.8rem;
      border: 1px solid #1f5fbf;
      border-radius: 0.375rem;
      background: #fff;
      color: #1f5fbf;
      cursor: pointer;
    }
    button:hover {
      background: #e6eefb;
    }
    button:focus-visible {
      outline: 3px solid #1f5fbf;
      outline-offset: 2px;
    }
    .facts {
      display: grid;
      grid-template-columns: repeat(auto-fit, minmax(9rem, 1fr));
      gap: 0.5rem 1rem;
      margin: 0 0 1rem;
    }
    .facts div {
      display: flex;
      flex-direction: column;
    }
    dt {
      font-size: 0.8125rem;
      color: #4a5261;
    }
    dd {
      margin: 0;
      font-weight: 600;
      font-variant-numeric: tabular-nums;
    }
    .verdict {
      font-size: 1.25rem;
      color: #4a5261;
    }
    .matched {
      color: #1b7f3b;
    }
    .not_matched {
      color: #b3261e;
    }
    .no_face,
    .multiple_faces {
      color: #8a4b00;
    }
    .chart {
      position: relative;
      height: 18rem;
      background: #fff;
      border: 1px solid #c9ced6;
      border-radius: 0.5rem;
      padding: 0.5rem;
    }
    .note {
      color: #4a5261;
      font-size: 0.875rem;
    }
    .error {
      color: #b3261e;
      font-weight: 600;
    }
    h3 {
      font-size: 1rem;
      margin: 1.25rem 0 0.5rem;
    }
    ol {
      list-style: none;
      margin: 0;
      padding: 0;
      max-height: 16rem;
      overflow-y: auto;
      font-size: 0.875rem;
      font-variant-numeric: tabular-nums;
    }
    li {
      display: flex;
      flex-wrap: wrap;
      gap: 0 0.75rem;
      padding: 0.3rem 0;
      border-bottom: 1px solid #e3e6eb;
    }
    li .what {
      font-weight: 600;
      min-width: 9rem;
    }
    .lv-passed,
    .passed,
    .verified {
      color: #1b7f3b;
    }
    .lv-failed,
    .failed,
    .not_verified {
      color: #b3261e;
    }
    .lv-active {
      color: #1f5fbf;
    }
    @media (max-width: 40rem) {
      .chart {
        height: 14rem;
      }
    }
  `;

  #close(): void {
    this.dispatchEvent(new CustomEvent('fv-ops-close', { bubbles: true, composed: true }));
  }

  override render() {
    const s = this.session;
    const points = this.timeline ?? [];
    const latest = points.at(-1);
    const verdict: Verdict = s?.verdict ?? latest?.verdict ?? 'pending';
    const liveness = s?.liveness ?? this.liveness?.status ?? null;
    const decision = s?.decision ?? null;
    return html`
      <header>
        <button type="button" @click=${() => this.#close()}>← All sessions</button>
        <h2>${this.sessionId}</h2>
      </header>
      ${this.error ? html`<p class="error" role="alert">${this.error}</p>` : nothing}
      <dl class="facts">
        <div>
          <dt>Verdict</dt>
          <dd class="verdict ${verdict}" aria-live="polite">${VERDICT_WORDS[verdict]}</dd>
        </div>
        <div>
          <dt>Liveness</dt>
          <dd class=${liveness ?? ''} data-testid="ops-detail-liveness" data-status=${liveness ?? ''}>
            ${liveness ? LIVENESS_WORDS[liveness] : '—'}
          </dd>
        </div>
        <div>
          <dt>Decision</dt>
          <dd class=${decision ?? ''} data-testid="ops-detail-decision" data-decision=${decision ?? ''}>
            ${decision ? DECISION_WORDS[decision] : '—'}
          </dd>
        </div>
        <div>
          <dt>Distance (smoothed)</dt>
          <dd>${formatDistance(s?.smoothedDistance ?? latest?.smoothedDistance ?? null)}</dd>
        </div>
        <div>
          <dt>Threshold</dt>
          <dd>${s ? s.threshold.toFixed(3) : '—'}</dd>
        </div>
        <div>
          <dt>State</dt>
          <dd>${s ? STATE_WORDS[s.state] : 'Ended'}</dd>
        </div>
        <div>
          <dt>Analysed fps</dt>
          <dd>${s ? `${s.fps.toFixed(1)} of ${s.targetFps}` : '—'}</dd>
        </div>
        <div>
          <dt>Frames</dt>
          <dd>${s ? `${s.framesAnalysed} analysed, ${s.droppedFrames} dropped` : '—'}</dd>
        </div>
        <div>
          <dt>Transport</dt>
          <dd>${s?.transport ? TRANSPORT_WORDS[s.transport] : '—'}</dd>
        </div>
        <div>
          <dt>Age</dt>
          <dd>${s ? formatAge(s.ageSeconds) : '—'}</dd>
        </div>
      </dl>
      <div
        class="chart"
        part="chart"
        data-testid="ops-detail-chart"
        data-points=${points.length}
        data-marks=${scheduled(this.liveness).length}
      >
        <canvas
          role="img"
          aria-label=${
            latest
              ? `Distance over the last ${points.length} frames; latest smoothed ${formatDistance(latest.smoothedDistance)}`
              : 'Distance timeline: no frames yet'
          }
        ></canvas>
      </div>
      ${
        this.timeline === null
          ? html`<p class="note">Loading the timeline…</p>`
          : points.length === 0
            ? html`<p class="note">No frames analysed on this session's current stream yet.</p>`
            : nothing
      }
      <h3>Liveness challenges</h3>
      ${this.timeline === null ? html`<p class="note">Loading…</p>` : challengeList(this.liveness, clock)}
      <h3>Verdict history</h3>
      ${
        points.length === 0
          ? html`<p class="note">Nothing yet.</p>`
          : html`<ol>
              ${verdictSpans(points)
                .slice(0, 50)
                .map(
                  (span) =>
                    html`<li>
                      <span class="what ${span.verdict}">${VERDICT_WORDS[span.verdict]}</span>
                      <span>${clock(span.from)}–${clock(span.to)}</span>
                      <span class="note">${span.frames} ${span.frames === 1 ? 'frame' : 'frames'}</span>
                    </li>`,
                )}
            </ol>`
      }
    `;
  }

  #series(): { raw: XY[]; smoothed: XY[]; threshold: XY[] } {
    const points = this.timeline ?? [];
    const raw = points.map((p) => ({ x: p.t, y: p.distance }));
    const smoothed = points.map((p) => ({ x: p.t, y: p.smoothedDistance }));
    const limit = this.session?.threshold;
    const first = points[0]?.t;
    const last = points.at(-1)?.t;
    const threshold =
      limit === undefined || first === undefined || last === undefined
        ? []
        : [
            { x: first, y: limit },
            { x: last, y: limit },
          ];
    return { raw, smoothed, threshold };
  }

  /** The axis spans the points exactly (no padding to a round time past the last one). */
  #xRange(): { min?: number; max?: number } {
    const points = this.timeline ?? [];
    const first = points[0]?.t;
    const last = points.at(-1)?.t;
    return first === undefined || last === undefined ? {} : { min: first, max: Math.max(last, first + 1000) };
  }

  override firstUpdated(): void {
    this.#create();
  }

  override connectedCallback(): void {
    super.connectedCallback();
    if (this.hasUpdated && !this.#chart) this.#create();
  }

  #create(): void {
    const { raw, smoothed, threshold } = this.#series();
    this.#chart = new Chart(this.renderRoot.querySelector('canvas')!, {
      type: 'line',
      data: {
        datasets: [
          {
            label: 'Distance (per frame)',
            data: raw,
            borderColor: '#8a94a3',
            backgroundColor: '#8a94a3',
            borderWidth: 1,
            pointRadius: 1.5,
            spanGaps: false,
          },
          {
            label: 'Smoothed distance',
            data: smoothed,
            borderColor: '#1f5fbf',
            backgroundColor: '#1f5fbf',
            borderWidth: 2,
            pointRadius: 0,
            spanGaps: false,
          },
          {
            label: 'Threshold',
            data: threshold,
            borderColor: '#b3261e',
            backgroundColor: '#b3261e',
            borderWidth: 1.5,
            borderDash: [6, 4],
            pointRadius: 0,
          },
        ],
      },
      plugins: [challengeMarks(() => scheduled(this.liveness))],
      options: {
        responsive: true,
        maintainAspectRatio: false,
        parsing: false,
        normalized: true,
        interaction: { mode: 'nearest', axis: 'x', intersect: false },
        plugins: {
          legend: { position: 'bottom', labels: { boxWidth: 16, boxHeight: 2 } },
          tooltip: { callbacks: { title: (items) => (items[0] ? clock(items[0].parsed.x ?? 0) : '') } },
        },
        scales: {
          x: {
            type: 'linear',
            ...this.#xRange(),
            ticks: {
              maxTicksLimit: 6,
              maxRotation: 0,
              autoSkipPadding: 16,
              callback: (value) => clock(Number(value)),
            },
          },
          y: {
            type: 'linear',
            beginAtZero: true,
            title: { display: true, text: 'Distance' },
          },
        },
      },
    });
  }

  override updated(changed: PropertyValues<this>): void {
    if (!this.#chart || !(changed.has('timeline') || changed.has('session') || changed.has('liveness')))
      return;
    const { raw, smoothed, threshold } = this.#series();
    const [a, b, c] = this.#chart.data.datasets;
    a!.data = raw;
    b!.data = smoothed;
    c!.data = threshold;
    const x = this.#chart.options.scales!['x']!;
    const range = this.#xRange();
    x.min = range.min;
    x.max = range.max;
    this.#chart.update('none');
  }

  override disconnectedCallback(): void {
    super.disconnectedCallback();
    this.#chart?.destroy();
    this.#chart = null;
  }
}

customElements.define('fv-ops-session-detail', FvOpsSessionDetail);

declare global {
  interface HTMLElementTagNameMap {
    'fv-ops-session-detail': FvOpsSessionDetail;
  }
}
