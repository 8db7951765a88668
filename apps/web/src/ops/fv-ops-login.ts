import { css, html, LitElement, nothing } from 'lit';
import type { OpsLoginBody } from '@fv/protocol';

/**
 * `<fv-ops-login>`: the operator sign-in. The operator token (not a tenant key) is sent once to
 * `POST /v1/ops/login`, which answers with an HttpOnly cookie; the page never stores the token.
 *
 * @fires fv-ops-signed-in - after a successful sign-in.
 * @csspart form - the sign-in form.
 *
 * Test hooks: `data-testid` `ops-login-token`, `ops-login-submit`, `ops-login-error`.
 */
export class FvOpsLogin extends LitElement {
  static override properties = {
    _busy: { state: true },
    _error: { state: true },
  };

  declare _busy: boolean;
  declare _error: string | null;

  constructor() {
    super();
    this._busy = false;
    this._error = null;
  }

  static override styles = css`
    :host {
      display: block;
      max-width: 26rem;
      margin: 4rem auto;
      font: inherit;
      color: var(--fv-text, #1f2430);
    }
    form {
      display: grid;
      gap: 0.75rem;
      padding: 1.5rem;
      background: var(--fv-surface, #fff);
      border: 1px solid #c9d0da;
      border-radius: 8px;
    }
    h1 {
      font-size: 1.25rem;
      margin: 0;
    }
    label {
      font-weight: 600;
    }
    input {
      font: inherit;
      padding: 0.5rem 0.6rem;
      border: 1px solid #7a8494;
      border-radius: 6px;
    }
    button {
      font: inherit;
      font-weight: 600;
      padding: 0.55rem 1rem;
      border: 0;
      border-radius: 6px;
      background: #0b57d0;
      color: #fff;
      cursor: pointer;
    }
    button[disabled] {
      background: #6b7280;
      cursor: progress;
    }
    input:focus-visible,
    button:focus-visible {
      outline: 3px solid #1a73e8;
      outline-offset: 2px;
    }
    .error {
      margin: 0;
      color: #8a1c14;
    }
  `;

  async #submit(event: SubmitEvent): Promise<void> {
    event.preventDefault();
    const input = this.renderRoot.querySelector('input')!;
    this._busy = true;
    this._error = null;
    try {
      const response = await fetch('/v1/ops/login', {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ token: input.value } satisfies OpsLoginBody),
      });
      if (!response.ok) {
        const body = (await response.json().catch(() => null)) as {
          error?: { code?: string; message?: string };
        } | null;
        const code = body?.error?.code ?? `HTTP ${response.status}`;
        this._error =
          code === 'RATE_LIMITED'
            ? 'Too many attempts. Wait a minute and try again.'
            : `${body?.error?.message ?? 'Sign-in failed.'} (${code})`;
        return;
      }
      input.value = '';
      this.dispatchEvent(new CustomEvent('fv-ops-signed-in', { bubbles: true, composed: true }));
    } catch {
      this._error = 'The server could not be reached.';
    } finally {
      this._busy = false;
    }
  }

  override render() {
    return html`
      <form part="form" @submit=${(event: SubmitEvent) => void this.#submit(event)}>
        <h1>Operations dashboard</h1>
        <label for="token">Operator token</label>
        <input
          id="token"
          type="password"
          autocomplete="current-password"
          required
          data-testid="ops-login-token"
        />
        <button type="submit" ?disabled=${this._busy} data-testid="ops-login-submit">
          ${this._busy ? 'Signing in…' : 'Sign in'}
        </button>
        ${
          this._error
            ? html`<p class="error" role="alert" data-testid="ops-login-error">${this._error}</p>`
            : nothing
        }
      </form>
    `;
  }
}

customElements.define('fv-ops-login', FvOpsLogin);

declare global {
  interface HTMLElementTagNameMap {
    'fv-ops-login': FvOpsLogin;
  }
}
