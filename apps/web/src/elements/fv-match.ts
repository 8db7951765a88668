import { LitElement, html, nothing } from 'lit';
import { styleMap } from 'lit/directives/style-map.js';
import type { FaceReport, VerifyResult } from '@fv/protocol';
import { fvMatchStyles } from './fv-match.styles.ts';

type Slot = 0 | 1;

interface Chosen {
  file: File;
  url: string;
  /** The browser could not display it (the server may still say why). */
  broken: boolean;
}

interface MatchError {
  code: string;
  message: string;
}

/** Plain-words explanations for the codes `POST /v1/verify` can answer with; `{photo}` names the image. */
const ERROR_WORDS: Record<string, string> = {
  NO_FACE: 'No face was found in {photo}. Choose a photo where the face is clearly visible.',
  UNSUPPORTED_IMAGE: '{Photo} is not a supported image. Use a JPEG, PNG or WebP photo.',
  CORRUPT_IMAGE: '{Photo} could not be read; the file may be damaged.',
  EMPTY_IMAGE: '{Photo} is an empty file.',
  IMAGE_TOO_LARGE: '{Photo} is too large. Choose a smaller file.',
  IMAGE_TOO_MANY_PIXELS: '{Photo} has too many pixels. Choose a smaller image.',
  DECODE_TIMEOUT: 'Reading {photo} took too long. Try a smaller image.',
  MISSING_IMAGE: 'Choose two photos first.',
  QUEUE_FULL: 'The server is busy right now. Try again in a moment.',
  MODEL_LOAD_FAILED: 'The face model is not available on the server.',
  INFERENCE_FAILED: 'The server could not compare the photos. Try again.',
  NETWORK: 'The server could not be reached. Check the connection and try again.',
  BAD_RESPONSE: 'The server sent an answer this page does not understand.',
};

/** The explanation for an error, naming the photo when the server's message says which (`Image a: …`). */
function explain(error: MatchError): string | null {
  const words = ERROR_WORDS[error.code];
  if (!words) return null;
  const which = /^Image (a|b)\b/.exec(error.message)?.[1];
  const photo = which === 'a' ? 'the first photo' : which === 'b' ? 'the second photo' : 'one of the photos';
  return words.replace('{photo}', photo).replace('{Photo}', photo.charAt(0).toUpperCase() + photo.slice(1));
}

const isRecord = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null;

function asResult(body: unknown): VerifyResult | null {
  if (!isRecord(body)) return null;
  const { distance, threshold, matched, similarity } = body;
  return typeof distance === 'number' &&
    typeof threshold === 'number' &&
    typeof matched === 'boolean' &&
    typeof similarity === 'number'
    ? (body as unknown as VerifyResult)
    : null;
}

function asError(body: unknown, status: number): MatchError {
  const error = isRecord(body) && isRecord(body['error']) ? body['error'] : null;
  return {
    code: typeof error?.['code'] === 'string' ? error['code'] : `HTTP_${status}`,
    message: typeof error?.['message'] === 'string' ? error['message'] : `The server answered ${status}.`,
  };
}

/**
 * `<fv-match>`: the two-image Match. Choose two photos, press Match, and the server
 * (`POST /v1/verify`) answers with the embedding distance, its threshold and the verdict —
 * "Matched" or "Not Matched" — with the face it used outlined on each preview.
 *
 * @attr server - Base URL of the API (default: this page's origin).
 * @attr endpoint - Path of the comparison route (default `/v1/verify`, which needs a tenant's API
 *   key unless the server runs in open mode; our demo page uses `/v1/demo/verify`).
 *
 * @fires fv-match-result - `{ result: VerifyResult }` after a comparison.
 * @fires fv-match-error - `{ code, message }` when the server (or the network) refuses.
 *
 * @csspart picker - each photo's card (label, file input, preview).
 * @csspart preview - each preview image.
 * @csspart button - the Match button.
 * @csspart result - the result panel.
 *
 * Test hooks: `data-testid` `match-file-1`, `match-file-2` (the file inputs), `match-button`,
 * `match-result` (text "Matched" / "Not Matched"), `match-distance`, `match-error`.
 */
export class FvMatch extends LitElement {
  static override styles = fvMatchStyles;

  static override properties = {
    server: { type: String },
    endpoint: { type: String },
    _files: { state: true },
    _busy: { state: true },
    _result: { state: true },
    _error: { state: true },
  };

  declare server: string;
  declare endpoint: string;
  declare _files: [Chosen | null, Chosen | null];
  declare _busy: boolean;
  declare _result: VerifyResult | null;
  declare _error: MatchError | null;
  #abort: AbortController | null = null;

  constructor() {
    super();
    this.server = '';
    this.endpoint = '/v1/verify';
    this._files = [null, null];
    this._busy = false;
    this._result = null;
    this._error = null;
  }

  override disconnectedCallback(): void {
    super.disconnectedCallback();
    this.#abort?.abort();
    for (const chosen of this._files) if (chosen) URL.revokeObjectURL(chosen.url);
    this._files = [null, null];
  }

  #choose(slot: Slot, event: Event): void {
    const input = event.target as HTMLInputElement;
    const file = input.files?.[0] ?? null;
    const files: [Chosen | null, Chosen | null] = [...this._files];
    const old = files[slot];
    if (old) URL.revokeObjectURL(old.url);
    files[slot] = file ? { file, url: URL.createObjectURL(file), broken: false } : null;
    this._files = files;
    // A new photo makes the old answer stale; a request still in flight is for the old pair.
    this.#abort?.abort();
    this._result = null;
    this._error = null;
  }

  #broken(slot: Slot, chosen: Chosen): void {
    if (this._files[slot] !== chosen) return;
    const files: [Chosen | null, Chosen | null] = [...this._files];
    files[slot] = { ...chosen, broken: true };
    this._files = files;
  }

  async #match(): Promise<void> {
    const [first, second] = this._files;
    if (!first || !second || this._busy) return;
    const abort = new AbortController();
    this.#abort?.abort();
    this.#abort = abort;
    this._busy = true;
    this._result = null;
    this._error = null;
    const form = new FormData();
    form.append('a', first.file, first.file.name);
    form.append('b', second.file, second.file.name);
    try {
      const response = await fetch(`${this.server.replace(/\/$/, '')}${this.endpoint}`, {
        method: 'POST',
        body: form,
        signal: abort.signal,
      });
      let body: unknown = null;
      try {
        body = await response.json();
      } catch {
        body = null;
      }
      if (abort.signal.aborted) return;
      const result = response.ok ? asResult(body) : null;
      if (result) {
        this._result = result;
        this.#emit('fv-match-result', { result });
      } else {
        this.#fail(
          response.ok
            ? { code: 'BAD_RESPONSE', message: 'The response had no distance.' }
            : asError(body, response.status),
        );
      }
    } catch (error) {
      if (abort.signal.aborted) return;
      this.#fail({ code: 'NETWORK', message: error instanceof Error ? error.message : String(error) });
    } finally {
      if (this.#abort === abort) {
        this.#abort = null;
        this._busy = false;
      }
    }
  }

  #fail(error: MatchError): void {
    this._error = error;
    this.#emit('fv-match-error', error);
  }

  #emit(type: string, detail: unknown): void {
    this.dispatchEvent(new CustomEvent(type, { detail, bubbles: true, composed: true }));
  }

  #faceNote(face: FaceReport | undefined): string {
    if (!face) return '';
    if (face.count > 1)
      return `${face.count} faces found: the one nearest the centre (outlined) was compared.`;
    return 'Face found (outlined).';
  }

  #preview(slot: Slot, label: string, face: FaceReport | undefined) {
    const chosen = this._files[slot];
    if (!chosen) return html`<span class="empty">No photo chosen</span>`;
    if (chosen.broken) return html`<span class="empty">No preview for ${chosen.file.name}</span>`;
    const box = face?.box;
    const outline =
      box && face
        ? html`<span
            class="box"
            aria-hidden="true"
            style=${styleMap({
              left: `${(box.x / face.width) * 100}%`,
              top: `${(box.y / face.height) * 100}%`,
              width: `${(box.width / face.width) * 100}%`,
              height: `${(box.height / face.height) * 100}%`,
            })}
          ></span>`
        : nothing;
    return html`<div class="shot">
      <img
        part="preview"
        src=${chosen.url}
        alt="${label}: ${chosen.file.name}"
        @error=${() => this.#broken(slot, chosen)}
      />${outline}
    </div>`;
  }

  #picker(slot: Slot, label: string) {
    const face = this._result ? (slot === 0 ? this._result.faces?.a : this._result.faces?.b) : undefined;
    const id = `file-${slot + 1}`;
    return html`
      <div class="picker" part="picker">
        <label for=${id}>${label}</label>
        <input
          id=${id}
          type="file"
          accept="image/jpeg,image/png,image/webp"
          data-testid="match-file-${slot + 1}"
          aria-describedby="${id}-status"
          @change=${(event: Event) => this.#choose(slot, event)}
        />
        <div class="frame">${this.#preview(slot, label, face)}</div>
        <p class="note" id="${id}-status">${this.#faceNote(face)}</p>
      </div>
    `;
  }

  #outcome() {
    if (this._error) {
      const words = explain(this._error);
      return html`<div class="outcome error" data-testid="match-error">
        <p class="headline">${words ?? this._error.message}</p>
        <p class="detail">
          <code>${this._error.code}</code>${
            words && words !== this._error.message ? html` — ${this._error.message}` : nothing
          }
        </p>
      </div>`;
    }
    const result = this._result;
    if (!result) return nothing;
    return html`<div class="outcome ${result.matched ? 'matched' : 'not-matched'}" part="result">
      <p class="headline">
        <span class="icon" aria-hidden="true">${result.matched ? '✓' : '✕'}</span>
        <span data-testid="match-result">${result.matched ? 'Matched' : 'Not Matched'}</span>
      </p>
      <dl>
        <div>
          <dt>Distance</dt>
          <dd data-testid="match-distance">${result.distance.toFixed(3)}</dd>
        </div>
        <div>
          <dt>Threshold</dt>
          <dd data-testid="match-threshold">${result.threshold.toFixed(3)}</dd>
        </div>
      </dl>
      <p class="detail">
        ${
          result.matched
            ? 'The distance is below the threshold: judged to be the same person.'
            : 'The distance is at or above the threshold: judged to be different people.'
        }
      </p>
    </div>`;
  }

  override render() {
    const ready = this._files[0] !== null && this._files[1] !== null;
    return html`
      <div class="pickers">${this.#picker(0, 'First photo')} ${this.#picker(1, 'Second photo')}</div>
      <div class="actions">
        <button
          type="button"
          part="button"
          data-testid="match-button"
          ?disabled=${!ready || this._busy}
          aria-busy=${this._busy ? 'true' : 'false'}
          @click=${() => void this.#match()}
        >
          ${this._busy ? html`<span class="spinner" aria-hidden="true"></span>Matching…` : 'Match'}
        </button>
        <span class="hint">${ready ? '' : 'Choose two photos to compare.'}</span>
      </div>
      <div class="live" aria-live="polite" aria-atomic="true">${this.#outcome()}</div>
    `;
  }
}

customElements.define('fv-match', FvMatch);

declare global {
  interface HTMLElementTagNameMap {
    'fv-match': FvMatch;
  }
}
