import { html, nothing, type TemplateResult } from 'lit';
import type { Verdict, ScoreMessage } from '@fv/protocol';
import type { EnrolmentController } from '../controllers/enrolment-controller.ts';
import { QUALITY_TEXT, VERDICT_TEXT } from './fv-verify.text.ts';

/** The verdict box (the `verdict` part); `live`: the camera streams for an enrolled session. */
export function verdictView(verdict: Verdict, live: boolean): TemplateResult {
  const shown = live || verdict !== 'pending';
  const { label, icon } = VERDICT_TEXT[verdict];
  return html`<div
    class="verdict ${shown ? `v-${verdict}` : 'v-none'}"
    part="verdict"
    role="status"
    aria-live="polite"
    aria-atomic="true"
    data-testid="fv-verdict"
  >
    ${
      shown
        ? html`<span class="icon" aria-hidden="true">${icon}</span><span>${label}</span>`
        : html`<span class="icon" aria-hidden="true">–</span><span>Not checking yet</span>`
    }
  </div>`;
}

/** A face box as percentages of the frame (the overlay is laid over the preview in percent). */
export interface BoxInPercent {
  left: number;
  top: number;
  width: number;
  height: number;
}

/** `box` (pixels of a `frameWidth`×`frameHeight` frame) in percent; null without a frame size. */
export function boxInPercent(
  box: NonNullable<ScoreMessage['box']>,
  frameWidth: number,
  frameHeight: number,
): BoxInPercent | null {
  if (!(frameWidth > 0 && frameHeight > 0)) return null;
  return {
    left: (box.x / frameWidth) * 100,
    top: (box.y / frameHeight) * 100,
    width: (box.width / frameWidth) * 100,
    height: (box.height / frameHeight) * 100,
  };
}

/** The face box over the preview (the `box` part), coloured by the verdict while live. */
export function faceBox(box: BoxInPercent | null, verdict: Verdict): TemplateResult | typeof nothing {
  if (!box) return nothing;
  return html`<div
    class="box b-${verdict}"
    part="box"
    data-testid="fv-box"
    style="left:${box.left}%;top:${box.top}%;width:${box.width}%;height:${box.height}%"
  ></div>`;
}

/** What the stage shows while the camera is off. */
export function cameraPlaceholder(requesting: boolean): TemplateResult {
  return html`<div class="placeholder">
    <span class="camera-icon" aria-hidden="true">◉</span>
    <span>${requesting ? 'Waiting for the camera…' : 'Camera is off'}</span>
  </div>`;
}

/** Start and Stop (the `start-button` and `stop-button` parts). */
export function actionButtons(buttons: {
  canStart: boolean;
  canStop: boolean;
  onStart(): void;
  onStop(): void;
}): TemplateResult {
  return html`<div class="actions">
    <button
      type="button"
      part="start-button"
      data-testid="fv-start"
      ?disabled=${!buttons.canStart}
      @click=${buttons.onStart}
    >
      Start
    </button>
    <button
      type="button"
      class="secondary"
      part="stop-button"
      data-testid="fv-stop"
      ?disabled=${!buttons.canStop}
      @click=${buttons.onStop}
    >
      Stop
    </button>
  </div>`;
}

/** The distance line under the gauge (a blank line without a reading, so nothing jumps). */
export function distanceLine(distance: number | null, threshold: number | null): TemplateResult {
  return html`<p class="muted small">
    ${
      distance !== null
        ? html`Distance
          ${distance.toFixed(3)}${threshold !== null ? html` (match below ${threshold.toFixed(3)})` : nothing}`
        : html`&nbsp;`
    }
  </p>`;
}

/** Quality hints (the `hints` part). */
export function hintsView(quality: ScoreMessage['quality'], hidden: boolean): TemplateResult {
  return html`<ul class="hints" part="hints" data-testid="fv-hints" ?hidden=${hidden}>
    ${quality.map((flag) => html`<li><span aria-hidden="true">⚠</span> ${QUALITY_TEXT[flag]}</li>`)}
  </ul>`;
}

/** What the enrolment step's controls do. */
export interface EnrolStepActions {
  onFileChange(event: Event): void;
  onSubmit(): void;
  onUseCamera(): void;
  onCapture(): void;
}

/**
 * The enrolment step (the `enrol` part) while `open` (the session has no reference and is
 * connected); otherwise only the note that a reference was just added, if it was.
 */
export function enrolStep(
  step: Pick<EnrolmentController, 'file' | 'preview' | 'busy' | 'capture' | 'note'>,
  open: boolean,
  cameraRequesting: boolean,
  actions: EnrolStepActions,
): TemplateResult | typeof nothing {
  if (!open) {
    return step.note?.kind === 'done'
      ? html`<p class="note done" data-testid="fv-enrolled">
          <span aria-hidden="true">✓</span> ${step.note.text}
        </p>`
      : nothing;
  }
  const busy = step.busy !== null;
  const note = step.note;
  return html`<section class="enrol" part="enrol" aria-labelledby="enrol-title">
    <h3 id="enrol-title">Add a reference photo</h3>
    <p class="muted">
      Your live camera is compared with this photo. Use a clear, front-facing photo of one person.
    </p>
    <div class="option">
      <label for="ref-file">Upload a photo</label>
      <input
        id="ref-file"
        type="file"
        accept="image/jpeg,image/png,image/webp"
        data-testid="fv-enrol-file"
        ?disabled=${busy}
        @change=${actions.onFileChange}
      />
      ${
        step.preview
          ? html`<img class="preview" src=${step.preview} alt="The selected reference photo" />`
          : nothing
      }
      <button
        type="button"
        data-testid="fv-enrol-submit"
        ?disabled=${!step.file || busy}
        @click=${actions.onSubmit}
      >
        Use this photo
      </button>
    </div>
    <p class="or"><span>or</span></p>
    <div class="option">
      ${
        step.capture
          ? html`<p class="muted">Look straight at the camera, then take the photo.</p>
              <button
                type="button"
                data-testid="fv-enrol-capture"
                ?disabled=${busy}
                @click=${actions.onCapture}
              >
                Take reference photo
              </button>`
          : html`<button
              type="button"
              class="secondary"
              data-testid="fv-enrol-camera"
              ?disabled=${busy || cameraRequesting}
              @click=${actions.onUseCamera}
            >
              Use my camera
            </button>`
      }
    </div>
    <p
      class="note ${note?.kind ?? ''}"
      role=${note?.kind === 'error' ? 'alert' : 'status'}
      data-testid="fv-enrol-message"
    >
      ${note?.text ?? ''}
    </p>
  </section>`;
}
