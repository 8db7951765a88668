import { LitElement, css, html, nothing } from 'lit';

const percent = (value: number): string => `${Math.round(value * 100)}%`;

/**
 * A horizontal similarity meter (0–1) with a mark at the match threshold. The number is always
 * printed next to the bar, so the reading never depends on colour alone.
 *
 * Attributes: `value` (similarity 0–1; absent = no reading), `threshold` (similarity at the match
 * threshold, 0–1), `label` (accessible name). @defaultValue label "Similarity"
 *
 * @csspart track - the bar's background
 * @csspart fill - the filled part up to `value`
 * @csspart threshold - the threshold mark
 * @csspart reading - the printed value
 */
export class FvScoreGauge extends LitElement {
  static override properties = {
    value: { type: Number },
    threshold: { type: Number },
    label: { type: String },
  };

  declare value: number | null;
  declare threshold: number | null;
  declare label: string;

  constructor() {
    super();
    this.value = null;
    this.threshold = null;
    this.label = 'Similarity';
  }

  static override styles = css`
    :host {
      display: block;
      font: inherit;
      color: inherit;
    }
    .row {
      display: flex;
      justify-content: space-between;
      align-items: baseline;
      gap: 0.5rem;
      font-size: 0.875rem;
      margin-bottom: 0.25rem;
    }
    .reading {
      font-variant-numeric: tabular-nums;
      font-weight: 600;
    }
    .track {
      position: relative;
      height: 0.75rem;
      border-radius: 999px;
      background: var(--fv-gauge-track, #e3e6eb);
      border: 1px solid var(--fv-gauge-border, #8a94a3);
      overflow: visible;
    }
    .fill {
      position: absolute;
      inset: 0 auto 0 0;
      border-radius: 999px;
      background: var(--fv-gauge-neutral, #0b57d0);
      transition: width 150ms ease-out;
    }
    .fill.below {
      background: var(--fv-gauge-below, #b3261e);
    }
    .fill.above {
      background: var(--fv-gauge-above, #1b7f3b);
    }
    .mark {
      position: absolute;
      top: -0.3rem;
      bottom: -0.3rem;
      width: 2px;
      margin-left: -1px;
      background: var(--fv-gauge-mark, #1f2430);
    }
    .legend {
      position: relative;
      height: 1rem;
      font-size: 0.75rem;
      color: var(--fv-muted, #4a5361);
    }
    /* The ▲ sits under the mark; the words run towards the middle of the bar so they never overflow. */
    .legend span {
      position: absolute;
      transform: translateX(-0.35em);
      white-space: nowrap;
    }
    .legend span.end {
      transform: translateX(0.35em);
    }
    @media (prefers-reduced-motion: reduce) {
      .fill {
        transition: none;
      }
    }
  `;

  override render() {
    const value =
      this.value === null || Number.isNaN(this.value) ? null : Math.min(1, Math.max(0, this.value));
    const threshold = this.threshold === null || Number.isNaN(this.threshold) ? null : this.threshold;
    const above = value !== null && threshold !== null && value >= threshold;
    const side = value === null || threshold === null ? '' : above ? 'above' : 'below';
    const text =
      value === null
        ? 'no reading'
        : `${percent(value)}${threshold === null ? '' : above ? ', above the threshold' : ', below the threshold'}`;
    return html`
      <div class="row">
        <span id="label">${this.label}</span>
        <span class="reading" part="reading">${value === null ? '—' : percent(value)}</span>
      </div>
      <div
        class="track"
        part="track"
        role="meter"
        aria-labelledby="label"
        aria-valuemin="0"
        aria-valuemax="100"
        aria-valuenow=${value === null ? nothing : Math.round(value * 100)}
        aria-valuetext=${text}
      >
        <div class="fill ${side}" part="fill" style="width: ${value === null ? 0 : value * 100}%"></div>
        ${
          threshold === null
            ? nothing
            : html`<div class="mark" part="threshold" style="left: ${threshold * 100}%"></div>`
        }
      </div>
      ${
        threshold === null
          ? nothing
          : html`<div class="legend" aria-hidden="true">
              ${
                threshold > 0.5
                  ? html`<span class="end" style="right: ${100 - threshold * 100}%">match threshold ▲</span>`
                  : html`<span style="left: ${threshold * 100}%">▲ match threshold</span>`
              }
            </div>`
      }
    `;
  }
}

customElements.define('fv-score-gauge', FvScoreGauge);

declare global {
  interface HTMLElementTagNameMap {
    'fv-score-gauge': FvScoreGauge;
  }
}
