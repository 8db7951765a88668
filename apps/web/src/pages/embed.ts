/**
 * `/embed?token=…`: the widget alone, for third-party iframes. The server injects the session's
 * allowed origins (`<script type="application/json" id="fv-embed-config">`) and frames the page only
 * for them (`frame-ancestors`); this script relays the widget's events to those origins with
 * `postMessage` (see `lib/embed-bridge.ts` for the message set, `EMBEDDING.md` for the guide).
 */
import '../elements/fv-verify.ts';
import { sessionIdOfToken, type Transport } from '@fv/protocol';
import { EmbedBridge, parseEmbedConfig } from '../lib/embed-bridge.ts';
import type { FvVerifyEventMap } from '../elements/fv-verify.ts';
import type { Verdict, ScoreMessage } from '@fv/protocol';

const app = document.getElementById('app') ?? document.body;
const token = new URLSearchParams(location.search).get('token') ?? '';
const sessionId = sessionIdOfToken(token) ?? '';
const { allowedOrigins } = parseEmbedConfig(document.getElementById('fv-embed-config')?.textContent);
const framed = window.parent !== window;

const bridge = new EmbedBridge({ target: framed ? window.parent : null, allowedOrigins, sessionId });

if (!sessionId) {
  const note = document.createElement('p');
  note.className = 'embed-error';
  note.setAttribute('role', 'alert');
  note.textContent = 'This verification link is not valid. Ask the site that sent you here for a new one.';
  app.replaceChildren(note);
} else {
  const widget = document.createElement('fv-verify');
  widget.setAttribute('token', token);
  widget.setAttribute('autostart', '');
  widget.classList.add('embed-widget');

  widget.addEventListener('fv-started', (event) => {
    const { transport } = (event as CustomEvent<{ transport: Transport }>).detail;
    bridge.started(transport);
  });
  widget.addEventListener('fv-score', (event) => {
    bridge.score((event as CustomEvent<{ score: ScoreMessage }>).detail.score);
  });
  widget.addEventListener('fv-verdict', (event) => {
    const { verdict, distance, similarity } = (
      event as CustomEvent<{ verdict: Verdict; distance: number | null; similarity: number | null }>
    ).detail;
    bridge.verdict(verdict, distance ?? null, similarity ?? null);
  });
  widget.addEventListener('fv-challenge', (event) => {
    bridge.challenge((event as CustomEvent<FvVerifyEventMap['fv-challenge']>).detail);
  });
  widget.addEventListener('fv-liveness', (event) => {
    const { liveness, decision } = (event as CustomEvent<FvVerifyEventMap['fv-liveness']>).detail;
    bridge.liveness(liveness, decision);
  });
  widget.addEventListener('fv-error', (event) => {
    const { code, message, fatal } = (event as CustomEvent<{ code: string; message: string; fatal: boolean }>)
      .detail;
    bridge.error(code, message, fatal);
  });
  widget.addEventListener('fv-finished', (event) => {
    const { verdict, distance, decision, reason } = (event as CustomEvent<FvVerifyEventMap['fv-finished']>)
      .detail;
    bridge.finished(verdict, distance ?? null, decision, reason);
  });

  // The host may stop the widget (e.g. its own "Cancel" button) — only from an allowed origin.
  window.addEventListener('message', (event: MessageEvent) => {
    if (bridge.handleIncoming({ origin: event.origin, data: event.data, source: event.source }) === 'stop') {
      widget.stop();
    }
  });

  app.replaceChildren(widget);
  void customElements.whenDefined('fv-verify').then(() => bridge.ready());
}
