import { LitElement, css, html, nothing, svg } from 'lit';

const WIDTH = 120;
const HEIGHT = 28;
const PAD = 2;

/**
 * A tiny line of recent values (a session's smoothed distance) with a dashed mark at the threshold.
 * Drawn as inline SVG rather than a Chart.js chart: a table may hold hundreds of them, updated every
 * second, and one polyline per row costs a few DOM nodes where a chart costs a canvas, a resize
 * observer and a render loop each.
 *
 * Properties: `values` (oldest first; null is a gap), `threshold` (optional), `label` (accessible
 * name, read with the last value). Higher values are drawn higher, as in the detail chart.
 *
 * @csspart svg - the drawing
 */
export class FvSparkline extends LitElement {
  static override properties = {
    values: { attribute: false },
    threshold: { type: Number },
    label: { type: String },
  };

  declare values: readonly (number | null)[];
  declare threshold: number | null;
  declare label: string;

  constructor() {
    super();
    this.values = [];
    this.threshold = null;
    this.label = 'Trend';
  }

  static override styles = css`
    :host {
      display: inline-block;
      width: 7.5rem;
      height: 1.75rem;
      vertical-align: middle;
    }
    svg {
      width: 100%;
      height: 100%;
      overflow: visible;
    }
    .line {
      fill: none;
      stroke: var(--fv-sparkline-colour, #1f5fbf);
      stroke-width: 1.5;
      stroke-linejoin: round;
      stroke-linecap: round;
      vector-effect: non-scaling-stroke;
    }
    .threshold {
      stroke: var(--fv-sparkline-threshold, #6b7280);
      stroke-width: 1;
      stroke-dasharray: 3 2;
      vector-effect: non-scaling-stroke;
    }
    .last {
      fill: var(--fv-sparkline-colour, #1f5fbf);
    }
  `;

  override render() {
    const present = this.values.filter((v): v is number => v !== null);
    const last = present.at(-1);
    const name =
      last === undefined ? `${this.label}: no readings yet` : `${this.label}: latest ${last.toFixed(3)}`;
    if (present.length === 0) {
      return html`<svg part="svg" role="img" aria-label=${name} viewBox="0 0 ${WIDTH} ${HEIGHT}"></svg>`;
    }
    // The scale always includes the threshold, so the mark stays on the drawing.
    const span = this.threshold === null ? present : [...present, this.threshold];
    let lo = Math.min(...span);
    let hi = Math.max(...span);
    if (hi - lo < 0.05) {
      const mid = (hi + lo) / 2;
      lo = mid - 0.025;
      hi = mid + 0.025;
    }
    const n = Math.max(2, this.values.length);
    const x = (i: number): number => PAD + (i * (WIDTH - 2 * PAD)) / (n - 1);
    // Higher distance is drawn higher: "worse" goes up, like the detail chart.
    const y = (v: number): number => HEIGHT - PAD - ((v - lo) * (HEIGHT - 2 * PAD)) / (hi - lo);
    const runs: string[] = [];
    let run: string[] = [];
    this.values.forEach((v, i) => {
      if (v === null) {
        if (run.length) runs.push(run.join(' '));
        run = [];
      } else {
        run.push(`${x(i).toFixed(1)},${y(v).toFixed(1)}`);
      }
    });
    if (run.length) runs.push(run.join(' '));
    const lastIndex = this.values.lastIndexOf(last!);
    return html`<svg
      part="svg"
      role="img"
      aria-label=${name}
      viewBox="0 0 ${WIDTH} ${HEIGHT}"
      preserveAspectRatio="none"
    >
      ${
        this.threshold === null
          ? nothing
          : svg`<line class="threshold" x1="0" x2=${WIDTH} y1=${y(this.threshold)} y2=${y(this.threshold)}></line>`
      }
      ${runs.map((points) => svg`<polyline class="line" points=${points}></polyline>`)}
      <circle class="last" cx=${x(lastIndex)} cy=${y(last!)} r="2"></circle>
    </svg>`;
  }
}

customElements.define('fv-sparkline', FvSparkline);

declare global {
  interface HTMLElementTagNameMap {
    'fv-sparkline': FvSparkline;
  }
}
