import type { OpsSession } from '@fv/protocol';
import { LitElement, css, html, nothing } from 'lit';
import {
  DECISION_WORDS,
  LIVENESS_WORDS,
  STATE_WORDS,
  TRANSPORT_WORDS,
  VERDICT_WORDS,
  formatAge,
  formatDistance,
} from './ops-format.ts';
import './fv-sparkline.ts';

/**
 * The live list of sessions, one row each: state, verdict in words, liveness and decision, current
 * distance with a sparkline, analysed fps, dropped frames, transport and age. A row opens with a click, Enter or
 * Space. Below 40rem the rows become labelled cards.
 *
 * Properties: `sessions` (newest first), `selected` (the open session's id, marked on its row),
 * `omitted` (sessions the server left out of the list).
 *
 * Test hooks: each row is `data-testid="ops-session-row"` with `data-session-id`; its distance cell
 * is `data-testid="ops-session-distance"`, its liveness and decision cells `ops-session-liveness`
 * and `ops-session-decision` (with `data-status` / `data-decision`).
 *
 * @fires fv-ops-select - `{ sessionId }` when a row is opened
 * @csspart table - the table
 * @csspart row - each session row
 */
export class FvOpsSessionTable extends LitElement {
  static override properties = {
    sessions: { attribute: false },
    selected: { type: String },
    omitted: { type: Number },
  };

  declare sessions: readonly OpsSession[];
  declare selected: string | null;
  declare omitted: number;

  constructor() {
    super();
    this.sessions = [];
    this.selected = null;
    this.omitted = 0;
  }

  static override styles = css`
    :host {
      display: block;
      overflow-x: auto;
    }
    table {
      width: 100%;
      border-collapse: collapse;
      font-variant-numeric: tabular-nums;
      font-size: 0.875rem;
    }
    caption {
      text-align: left;
      font-weight: 600;
      font-size: 1rem;
      padding: 0 0 0.5rem;
    }
    th {
      text-align: left;
      font-weight: 600;
      color: #3d4452;
      border-bottom: 2px solid #c9ced6;
      padding: 0.4rem 0.5rem;
      white-space: nowrap;
    }
    td {
      padding: 0.45rem 0.5rem;
      border-bottom: 1px solid #e3e6eb;
      white-space: nowrap;
    }
    th.num,
    td.num {
      text-align: right;
    }
    tbody tr {
      cursor: pointer;
    }
    tbody tr:hover {
      background: #f2f5fa;
    }
    tbody tr:focus-visible {
      outline: 3px solid #1f5fbf;
      outline-offset: -3px;
    }
    tbody tr[aria-current='true'] {
      background: #e6eefb;
    }
    .id {
      font-family: ui-monospace, SFMono-Regular, Menlo, Consolas, monospace;
      font-size: 0.8125rem;
    }
    .verdict {
      font-weight: 600;
      color: #4a5261;
    }
    .verdict.matched {
      color: #1b7f3b;
    }
    .verdict.not_matched {
      color: #b3261e;
    }
    .verdict.no_face,
    .verdict.multiple_faces {
      color: #8a4b00;
    }
    .verdict.passed,
    .verdict.verified {
      color: #1b7f3b;
    }
    .verdict.failed,
    .verdict.not_verified {
      color: #b3261e;
    }
    .distance {
      display: inline-flex;
      align-items: center;
      gap: 0.5rem;
    }
    .muted {
      color: #5b6372;
    }
    .empty {
      padding: 1.5rem 0.5rem;
      color: #5b6372;
    }
    @media (max-width: 40rem) {
      thead {
        display: none;
      }
      caption {
        display: block;
      }
      table,
      tbody,
      tr,
      td {
        display: block;
      }
      tbody tr {
        border: 1px solid #c9ced6;
        border-radius: 0.5rem;
        padding: 0.5rem 0.75rem;
        margin-bottom: 0.75rem;
      }
      td {
        display: flex;
        justify-content: space-between;
        align-items: center;
        gap: 1rem;
        border: none;
        padding: 0.2rem 0;
        white-space: normal;
      }
      td.num {
        text-align: left;
      }
      td::before {
        content: attr(data-label);
        color: #5b6372;
        font-weight: 600;
        flex: none;
      }
    }
  `;

  #open(sessionId: string): void {
    this.dispatchEvent(
      new CustomEvent('fv-ops-select', { detail: { sessionId }, bubbles: true, composed: true }),
    );
  }

  #onKey(event: KeyboardEvent, sessionId: string): void {
    if (event.key === 'Enter' || event.key === ' ') {
      event.preventDefault();
      this.#open(sessionId);
    }
  }

  override render() {
    return html`<table part="table">
      <caption>
        Sessions
        <span class="muted"
          >(${this.sessions.length}${this.omitted ? ` shown, ${this.omitted} more` : ''})</span
        >
      </caption>
      <thead>
        <tr>
          <th scope="col">Session</th>
          <th scope="col">State</th>
          <th scope="col">Verdict</th>
          <th scope="col">Liveness</th>
          <th scope="col">Decision</th>
          <th scope="col">Distance (smoothed)</th>
          <th scope="col" class="num">Analysed fps</th>
          <th scope="col" class="num">Dropped</th>
          <th scope="col">Transport</th>
          <th scope="col" class="num">Age</th>
        </tr>
      </thead>
      <tbody>
        ${
          this.sessions.length === 0
            ? html`<tr>
                <td class="empty" colspan="10">
                  No sessions yet. They appear here as soon as they are created.
                </td>
              </tr>`
            : nothing
        }
        ${this.sessions.map(
          (s) =>
            html`<tr
              part="row"
              tabindex="0"
              data-testid="ops-session-row"
              data-session-id=${s.sessionId}
              aria-current=${this.selected === s.sessionId ? 'true' : 'false'}
              aria-label=${`Session ${s.sessionId}: ${VERDICT_WORDS[s.verdict]}, ${DECISION_WORDS[s.decision].toLowerCase()}. Open details.`}
              @click=${() => this.#open(s.sessionId)}
              @keydown=${(e: KeyboardEvent) => this.#onKey(e, s.sessionId)}
            >
              <td class="id" data-label="Session">${s.sessionId}</td>
              <td data-label="State">${STATE_WORDS[s.state]}</td>
              <td data-label="Verdict" class="verdict ${s.verdict}">${VERDICT_WORDS[s.verdict]}</td>
              <td
                data-label="Liveness"
                class="verdict ${s.liveness}"
                data-testid="ops-session-liveness"
                data-status=${s.liveness}
              >
                ${LIVENESS_WORDS[s.liveness]}
              </td>
              <td
                data-label="Decision"
                class="verdict ${s.decision}"
                data-testid="ops-session-decision"
                data-decision=${s.decision}
              >
                ${DECISION_WORDS[s.decision]}
              </td>
              <td data-label="Distance">
                <span class="distance">
                  <span data-testid="ops-session-distance">${formatDistance(s.smoothedDistance)}</span>
                  <fv-sparkline
                    .values=${s.sparkline}
                    .threshold=${s.threshold}
                    label="Smoothed distance"
                  ></fv-sparkline>
                </span>
              </td>
              <td data-label="Analysed fps" class="num">
                ${
                  s.targetFps === 0
                    ? html`<span class="muted">—</span>`
                    : html`<span>${s.fps.toFixed(1)}<span class="muted"> / ${s.targetFps}</span></span>`
                }
              </td>
              <td data-label="Dropped" class="num">
                ${
                  s.targetFps === 0
                    ? html`<span class="muted">—</span>`
                    : html`<span>${s.droppedFrames} <span class="muted">of ${s.framesReceived}</span></span>`
                }
              </td>
              <td data-label="Transport">
                ${s.transport ? TRANSPORT_WORDS[s.transport] : html`<span class="muted">—</span>`}
              </td>
              <td data-label="Age" class="num">${formatAge(s.ageSeconds)}</td>
            </tr>`,
        )}
      </tbody>
    </table>`;
  }
}

customElements.define('fv-ops-session-table', FvOpsSessionTable);

declare global {
  interface HTMLElementTagNameMap {
    'fv-ops-session-table': FvOpsSessionTable;
  }
}
