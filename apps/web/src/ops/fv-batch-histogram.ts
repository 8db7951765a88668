import { LitElement, css, html, type PropertyValues } from 'lit';
import { Chart } from './charts.ts';

/**
 * Model batches by size over the last minute, as a bar chart (Chart.js), with the same facts in
 * words beside it for screen readers and for a glance.
 *
 * Properties: `bins` (`{ size, count }`, ascending size; missing sizes count zero).
 *
 * @csspart chart - the chart's box
 * @csspart summary - the sentence under it
 */
export class FvBatchHistogram extends LitElement {
  static override properties = {
    bins: { attribute: false },
  };

  declare bins: readonly { size: number; count: number }[];
  #chart: Chart<'bar', number[], string> | null = null;

  constructor() {
    super();
    this.bins = [];
  }

  static override styles = css`
    :host {
      display: block;
    }
    .chart {
      position: relative;
      height: 8rem;
    }
    p {
      margin: 0.25rem 0 0;
      font-size: 0.8125rem;
      color: #4a5261;
    }
  `;

  #data(): { labels: string[]; counts: number[] } {
    const largest = Math.max(8, ...this.bins.map((b) => b.size));
    const bySize = new Map(this.bins.map((b) => [b.size, b.count]));
    const labels: string[] = [];
    const counts: number[] = [];
    for (let size = 1; size <= largest; size++) {
      labels.push(String(size));
      counts.push(bySize.get(size) ?? 0);
    }
    return { labels, counts };
  }

  #summary(): string {
    const batches = this.bins.reduce((n, b) => n + b.count, 0);
    if (batches === 0) return 'No model batches in the last minute.';
    const faces = this.bins.reduce((n, b) => n + b.size * b.count, 0);
    return `${batches} batches in the last minute, ${(faces / batches).toFixed(1)} faces each on average.`;
  }

  override render() {
    return html`<div class="chart" part="chart">
        <canvas role="img" aria-label=${`Batch sizes: ${this.#summary()}`}></canvas>
      </div>
      <p part="summary">${this.#summary()}</p>`;
  }

  override firstUpdated(): void {
    this.#create();
  }

  override connectedCallback(): void {
    super.connectedCallback();
    // Moved in the page: the chart was destroyed on the way out.
    if (this.hasUpdated && !this.#chart) this.#create();
  }

  #create(): void {
    const { labels, counts } = this.#data();
    this.#chart = new Chart(this.renderRoot.querySelector('canvas')!, {
      type: 'bar',
      data: { labels, datasets: [{ label: 'Batches', data: counts, backgroundColor: '#1f5fbf' }] },
      options: {
        responsive: true,
        maintainAspectRatio: false,
        plugins: { legend: { display: false } },
        scales: {
          x: { title: { display: true, text: 'Faces per batch' }, grid: { display: false } },
          y: { beginAtZero: true, ticks: { precision: 0 }, title: { display: true, text: 'Batches' } },
        },
      },
    });
  }

  override updated(changed: PropertyValues<this>): void {
    if (!this.#chart || !changed.has('bins')) return;
    const { labels, counts } = this.#data();
    this.#chart.data.labels = labels;
    this.#chart.data.datasets[0]!.data = counts;
    this.#chart.update('none');
  }

  override disconnectedCallback(): void {
    super.disconnectedCallback();
    this.#chart?.destroy();
    this.#chart = null;
  }
}

customElements.define('fv-batch-histogram', FvBatchHistogram);

declare global {
  interface HTMLElementTagNameMap {
    'fv-batch-histogram': FvBatchHistogram;
  }
}
