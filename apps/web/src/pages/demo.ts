/**
 * `/`: the demo page. "Live verification" creates a session without a reference photo (so the
 * widget's enrolment step runs) and hands its token to `<fv-verify>`; "Match two photos" is the
 * two-image comparison (`<fv-match>`, `POST /v1/verify`).
 *
 * The session's liveness options can be tried from the address: `?liveness=off`, or
 * `?livenessAction=smile&livenessAction=turn_left&livenessChallenges=2&livenessRetries=0` (passed on
 * as the form fields of `POST /v1/demo/sessions`; the server checks them).
 */
import { html, nothing, render } from 'lit';
import '../elements/fv-verify.ts';
import '../elements/fv-match.ts';

interface Created {
  sessionId: string;
  token: string;
  expiresAt: string;
}

const app = document.getElementById('app') ?? document.body;
let session: Created | null = null;
let creating = false;
let failure: string | null = null;

const LIVENESS_FIELDS = ['liveness', 'livenessAction', 'livenessChallenges', 'livenessRetries'] as const;

/** The session form: the liveness options given in this page's address, if any. */
function sessionForm(): FormData {
  const form = new FormData();
  const query = new URLSearchParams(location.search);
  for (const field of LIVENESS_FIELDS) for (const value of query.getAll(field)) form.append(field, value);
  return form;
}

async function newSession(): Promise<void> {
  if (creating) return;
  creating = true;
  failure = null;
  draw();
  try {
    // The demo's own route: same-origin only, no API key (tenants create sessions server-side).
    const response = await fetch('/v1/demo/sessions', { method: 'POST', body: sessionForm() });
    const body = (await response.json().catch(() => null)) as
      (Partial<Created> & { error?: { message?: string } }) | null;
    if (!response.ok || typeof body?.token !== 'string' || typeof body.sessionId !== 'string') {
      throw new Error(body?.error?.message ?? `The server answered ${response.status}.`);
    }
    session = { sessionId: body.sessionId, token: body.token, expiresAt: String(body.expiresAt ?? '') };
  } catch (error) {
    failure = `Could not start a verification session: ${(error as Error).message}`;
  } finally {
    creating = false;
    draw();
  }
}

function draw(): void {
  render(
    html`
      <header class="page-header">
        <div class="wrap">
          <h1>Face verification</h1>
          <nav aria-label="Pages"><a href="/ops">Operations dashboard</a></nav>
        </div>
      </header>
      <div class="wrap">
        <section class="card" aria-labelledby="live-title">
          <div class="card-head">
            <div>
              <h2 id="live-title">Live verification</h2>
              <p class="muted">
                Add a reference photo, then start the camera: the widget checks live whether the person in
                front of the camera is the person in the photo.
              </p>
            </div>
            <button
              type="button"
              class="button secondary"
              data-testid="new-session"
              ?disabled=${creating}
              @click=${() => void newSession()}
            >
              New session
            </button>
          </div>
          ${failure ? html`<p class="page-error" role="alert">${failure}</p>` : nothing}
          <fv-verify id="verify" fps="10" token=${session?.token ?? ''}></fv-verify>
          <p class="muted small" data-testid="session-id">
            ${session ? html`Session <code>${session.sessionId}</code>` : creating ? 'Creating a session…' : ''}
          </p>
        </section>
        <section class="card" aria-labelledby="match-title">
          <h2 id="match-title">Match two photos</h2>
          <p class="muted">Compare two photos and see whether they show the same person.</p>
          <fv-match endpoint="/v1/demo/verify"></fv-match>
        </section>
      </div>
    `,
    app,
  );
}

draw();
void newSession();
