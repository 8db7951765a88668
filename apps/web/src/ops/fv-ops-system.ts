import type { OpsSystem } from '@fv/protocol';
import { LitElement, css, html } from 'lit';
import { formatMs } from './ops-format.ts';
import './fv-batch-histogram.ts';

/**
 * The system panels: sessions, frames per second, queue depth, latency percentiles and the
 * batch-size histogram.
 *
 * Properties: `system` (from the latest snapshot; null before the first one).
 *
 * @csspart panel - each panel
 */
export class FvOpsSystem extends LitElement {
  static override properties = {
    system: { attribute: false },
  };

  declare system: OpsSystem | null;

  constructor() {
    super();
    this.system = null;
  }

  static override styles = css`
    :host {
      display: grid;
      grid-template-columns: repeat(auto-fit, minmax(9rem, 1fr));
      gap: 0.75rem;
    }
    section {
      background: #fff;
      border: 1px solid #c9ced6;
      border-radius: 0.5rem;
      padding: 0.75rem 1rem;
    }
    h2 {
      margin: 0 0 0.25rem;
      font-size: 0.8125rem;
      font-weight: 600;
      color: #4a5261;
      text-transform: uppercase;
      letter-spacing: 0.03em;
    }
    .value {
      font-size: 1.75rem;
      font-weight: 650;
      font-variant-numeric: tabular-nums;
      line-height: 1.2;
    }
    .sub {
      font-size: 0.8125rem;
      color: #4a5261;
      font-variant-numeric: tabular-nums;
    }
    .histogram {
      grid-column: 1 / -1;
    }
    @media (max-width: 40rem) {
      :host {
        gap: 0.5rem;
      }
      section {
        padding: 0.5rem 0.75rem;
      }
      .value {
        font-size: 1.375rem;
      }
    }
    @media (min-width: 64rem) {
      .histogram {
        grid-column: span 2;
        grid-row: span 2;
      }
    }
  `;

  override render() {
    const s = this.system;
    const dash = '—';
    return html`
      <section part="panel" aria-label="Sessions">
        <h2>Sessions</h2>
        <div class="value">${s?.liveSessions ?? dash}</div>
        <div class="sub">streaming, of ${s?.sessions ?? dash} open</div>
      </section>
      <section part="panel" aria-label="Frames per second">
        <h2>Frames / s</h2>
        <div class="value">${s ? s.framesPerSecond.toFixed(1) : dash}</div>
        <div class="sub">analysed · ${s ? s.droppedPerSecond.toFixed(1) : dash} dropped/s</div>
      </section>
      <section part="panel" aria-label="Queue depth">
        <h2>Queue depth</h2>
        <div class="value">${s ? (s.queueDepth ?? dash) : dash}</div>
        <div class="sub">${s ? (s.queueDepth === null ? `no queue (${s.mode})` : s.mode) : dash}</div>
      </section>
      <section part="panel" aria-label="Latency">
        <h2>Latency</h2>
        <div class="value">${formatMs(s?.latencyMs.p50 ?? null)}</div>
        <div class="sub">p50 frame → score · p95 ${formatMs(s?.latencyMs.p95 ?? null)} (last 30 s)</div>
      </section>
      <section part="panel" class="histogram" aria-label="Batch sizes">
        <h2>Batch sizes</h2>
        <fv-batch-histogram .bins=${s?.batchHistogram ?? []}></fv-batch-histogram>
      </section>
    `;
  }
}

customElements.define('fv-ops-system', FvOpsSystem);

declare global {
  interface HTMLElementTagNameMap {
    'fv-ops-system': FvOpsSystem;
  }
}
