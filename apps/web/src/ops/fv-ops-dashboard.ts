import { LitElement, css, html, nothing } from 'lit';
import { OpsFeedController } from './ops-feed.ts';
import './fv-ops-session-detail.ts';
import './fv-ops-session-table.ts';
import './fv-ops-system.ts';

const SESSION_HASH = /^#session=([A-Za-z0-9_-]{1,64})$/;

/**
 * The operator dashboard: system panels and the live session list over `WS /v1/ops`, and one
 * session's detail view (`#session=<id>` in the address, so it can be linked and Back works). The
 * feed reconnects by itself and says so while it is down; the last data stays on screen, dimmed.
 *
 * Attributes: `server` (base URL of the API; default: this page's origin).
 *
 * @csspart status - the connection status line
 */
export class FvOpsDashboard extends LitElement {
  static override properties = {
    server: { type: String },
    _selected: { state: true },
  };

  declare server: string | null;
  declare _selected: string | null;
  #feed: OpsFeedController | null = null;
  #returnFocusTo: string | null = null;
  readonly #onHash = (): void => this.#readHash();

  constructor() {
    super();
    this.server = null;
    this._selected = null;
  }

  static override styles = css`
    :host {
      display: block;
      max-width: 80rem;
      margin: 0 auto;
      padding: 1rem;
      color: #1f2430;
      font-family:
        system-ui,
        -apple-system,
        'Segoe UI',
        Roboto,
        sans-serif;
      line-height: 1.4;
      box-sizing: border-box;
    }
    header {
      display: flex;
      flex-wrap: wrap;
      align-items: baseline;
      justify-content: space-between;
      gap: 0.25rem 1rem;
      margin-bottom: 1rem;
    }
    h1 {
      margin: 0;
      font-size: 1.375rem;
    }
    .status {
      display: inline-flex;
      align-items: center;
      gap: 0.4rem;
      font-size: 0.875rem;
      color: #3d4452;
    }
    .dot {
      width: 0.6rem;
      height: 0.6rem;
      border-radius: 50%;
      background: #1b7f3b;
    }
    .status.down {
      color: #8a1c14;
      font-weight: 600;
    }
    .status.down .dot {
      background: #b3261e;
    }
    .status.connecting .dot {
      background: #8a94a3;
    }
    .stale {
      opacity: 0.7;
    }
    fv-ops-system {
      margin-bottom: 1.25rem;
    }
    .panel {
      background: #fff;
      border: 1px solid #c9ced6;
      border-radius: 0.5rem;
      padding: 0.75rem 1rem;
    }
    @media (max-width: 40rem) {
      :host {
        padding: 0.75rem;
      }
      .panel {
        padding: 0.5rem;
        border: none;
        background: transparent;
      }
    }
  `;

  override connectedCallback(): void {
    // The controller is made here rather than in the constructor so `server` is already set.
    this.#feed ??= new OpsFeedController(this, this.server ? { server: this.server } : {});
    super.connectedCallback();
    window.addEventListener('hashchange', this.#onHash);
    this.#readHash();
  }

  override disconnectedCallback(): void {
    super.disconnectedCallback();
    window.removeEventListener('hashchange', this.#onHash);
  }

  #readHash(): void {
    const id = SESSION_HASH.exec(location.hash)?.[1] ?? null;
    if (id === this._selected) return;
    const previous = this._selected;
    this._selected = id;
    this.#feed?.follow(id);
    if (id) {
      void this.updateComplete.then(() =>
        this.renderRoot.querySelector('fv-ops-session-detail')?.shadowRoot?.querySelector('button')?.focus(),
      );
    } else if (previous) {
      this.#returnFocusTo = previous;
      void this.updateComplete.then(() => this.#restoreFocus());
    }
  }

  /** Back in the list: focus the row that was opened, so keyboard users keep their place. */
  async #restoreFocus(): Promise<void> {
    const table = this.renderRoot.querySelector('fv-ops-session-table');
    if (!table || !this.#returnFocusTo) return;
    await table.updateComplete;
    const row = table.shadowRoot?.querySelector<HTMLElement>(
      `[data-session-id="${CSS.escape(this.#returnFocusTo)}"]`,
    );
    row?.focus();
    this.#returnFocusTo = null;
  }

  #open(sessionId: string): void {
    location.hash = `session=${sessionId}`;
  }

  #close(): void {
    // Back to the list without leaving a `#` behind in the address.
    history.pushState(null, '', location.pathname + location.search);
    this.#readHash();
  }

  #status() {
    const feed = this.#feed!;
    const at = feed.snapshot ? new Date(feed.snapshot.at).toLocaleTimeString() : null;
    switch (feed.status) {
      case 'open':
        return html`<span class="status" part="status" role="status">
          <span class="dot" aria-hidden="true"></span>Live${at ? html` · updated ${at}` : nothing}
        </span>`;
      case 'connecting':
        return html`<span class="status connecting" part="status" role="status">
          <span class="dot" aria-hidden="true"></span>Connecting…
        </span>`;
      case 'reconnecting':
        return html`<span class="status down" part="status" role="status">
          <span class="dot" aria-hidden="true"></span>Connection lost —
          reconnecting…${at ? html` (data from ${at})` : nothing}
        </span>`;
    }
  }

  override render() {
    const feed = this.#feed!;
    const snapshot = feed.snapshot;
    const stale = feed.status !== 'open' && snapshot !== null;
    const selected = this._selected;
    const followed = selected && feed.timeline?.sessionId === selected ? feed.timeline : null;
    const row = selected ? (snapshot?.sessions.find((s) => s.sessionId === selected) ?? null) : null;
    return html`
      <header>
        <h1>Face verification — operations</h1>
        ${this.#status()}
      </header>
      <div class=${stale ? 'stale' : ''}>
        <fv-ops-system .system=${snapshot?.system ?? null}></fv-ops-system>
        <div class="panel">
          ${
            selected
              ? html`<fv-ops-session-detail
                  session-id=${selected}
                  .session=${row}
                  .timeline=${followed?.points ?? null}
                  .liveness=${followed?.liveness ?? null}
                  .error=${feed.lastError?.message ?? (snapshot && !row ? 'This session is not open any more.' : null)}
                  @fv-ops-close=${() => this.#close()}
                ></fv-ops-session-detail>`
              : html`<fv-ops-session-table
                  .sessions=${snapshot?.sessions ?? []}
                  .omitted=${snapshot?.omitted ?? 0}
                  @fv-ops-select=${(e: CustomEvent<{ sessionId: string }>) => this.#open(e.detail.sessionId)}
                ></fv-ops-session-table>`
          }
        </div>
      </div>
    `;
  }
}

customElements.define('fv-ops-dashboard', FvOpsDashboard);

declare global {
  interface HTMLElementTagNameMap {
    'fv-ops-dashboard': FvOpsDashboard;
  }
  interface HTMLElementEventMap {
    'fv-ops-select': CustomEvent<{ sessionId: string }>;
  }
}
