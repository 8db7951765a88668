import { css } from 'lit';

/** Shadow styles of `<fv-verify>` (colours from the `--fv-*` variables, overridable by the page). */
export const fvVerifyStyles = css`
  :host {
    display: block;
    container-type: inline-size;
    color: var(--fv-text, #1f2430);
    --fv-accent: #0b57d0;
    --fv-ok: #1b7f3b;
    --fv-bad: #b3261e;
    --fv-warn: #8a5300;
    --fv-muted: #4a5361;
    --fv-surface: #ffffff;
    --fv-border: #c4cad3;
  }
  [hidden] {
    display: none !important;
  }
  .widget {
    display: grid;
    grid-template-columns: minmax(0, 3fr) minmax(0, 2fr);
    gap: 1.25rem;
    align-items: start;
  }
  @container (max-width: 640px) {
    .widget {
      grid-template-columns: minmax(0, 1fr);
      gap: 0.75rem;
    }
  }
  .stage {
    position: relative;
    width: 100%;
    background: #1f2430;
    border-radius: 12px;
    overflow: hidden;
  }
  video {
    display: block;
    width: 100%;
    height: 100%;
    object-fit: fill;
    /* Mirrored for the user; the frames sent are not, and the overlay is mirrored the same way. */
    transform: scaleX(-1);
  }
  .overlay {
    position: absolute;
    inset: 0;
    transform: scaleX(-1);
    pointer-events: none;
  }
  .box {
    position: absolute;
    border: 3px solid #f2c200;
    border-radius: 10px;
    box-shadow: 0 0 0 1px rgb(0 0 0 / 0.6);
    transition:
      left 80ms linear,
      top 80ms linear,
      width 80ms linear,
      height 80ms linear;
  }
  .box.b-matched {
    border-color: #3ddc84;
  }
  .box.b-not_matched {
    border-color: #ff6b5e;
  }
  .placeholder {
    position: absolute;
    inset: 0;
    display: flex;
    flex-direction: column;
    gap: 0.5rem;
    align-items: center;
    justify-content: center;
    color: #f1f3f6;
    text-align: center;
    padding: 1rem;
  }
  .camera-icon {
    font-size: 2rem;
  }
  .panel {
    display: flex;
    flex-direction: column;
    gap: 0.75rem;
    min-width: 0;
  }
  p {
    margin: 0;
  }
  .muted {
    color: var(--fv-muted);
  }
  .small {
    font-size: 0.875rem;
    font-variant-numeric: tabular-nums;
  }
  .status {
    display: flex;
    gap: 0.5rem;
    align-items: baseline;
    font-size: 0.9375rem;
  }
  .dot {
    flex: none;
    width: 0.625rem;
    height: 0.625rem;
    border-radius: 50%;
    background: var(--fv-muted);
  }
  .s-streaming .dot {
    background: var(--fv-ok);
  }
  .s-degraded .dot,
  .s-reconnecting .dot,
  .s-connecting .dot,
  .s-enrolling .dot {
    background: var(--fv-warn);
  }
  .s-error .dot {
    background: var(--fv-bad);
  }
  .verdict {
    display: flex;
    align-items: center;
    gap: 0.625rem;
    padding: 0.625rem 0.875rem;
    border-radius: 10px;
    font-size: 1.375rem;
    font-weight: 700;
    color: #fff;
    background: var(--fv-muted);
  }
  .verdict .icon {
    display: inline-grid;
    place-items: center;
    width: 1.75rem;
    height: 1.75rem;
    border-radius: 50%;
    background: rgb(255 255 255 / 0.22);
    font-size: 1.125rem;
  }
  .v-none {
    color: var(--fv-muted);
    background: #eef0f3;
    font-weight: 600;
    font-size: 1.125rem;
  }
  .v-none .icon {
    background: #dde1e7;
  }
  .v-matched {
    background: var(--fv-ok);
  }
  .v-not_matched {
    background: var(--fv-bad);
  }
  .v-no_face,
  .v-multiple_faces {
    background: var(--fv-warn);
  }
  .hints {
    margin: 0;
    padding: 0.5rem 0.75rem;
    list-style: none;
    border-left: 4px solid var(--fv-warn);
    background: #fff6e5;
    color: #5c3900;
    border-radius: 4px;
    font-size: 0.9375rem;
  }
  .error {
    padding: 0.5rem 0.75rem;
    border-left: 4px solid var(--fv-bad);
    background: #fdecea;
    color: #7a1712;
    border-radius: 4px;
  }
  .enrol {
    display: flex;
    flex-direction: column;
    gap: 0.625rem;
    padding: 0.875rem;
    border: 1px solid var(--fv-border);
    border-radius: 10px;
    background: var(--fv-surface);
  }
  .enrol h3 {
    margin: 0;
    font-size: 1.0625rem;
  }
  .option {
    display: flex;
    flex-direction: column;
    gap: 0.5rem;
    align-items: flex-start;
  }
  .option label {
    font-weight: 600;
  }
  input[type='file'] {
    max-width: 100%;
    font: inherit;
    font-size: 0.875rem;
  }
  .preview {
    max-width: 8rem;
    max-height: 8rem;
    border-radius: 8px;
    border: 1px solid var(--fv-border);
    object-fit: cover;
  }
  .or {
    display: flex;
    align-items: center;
    gap: 0.5rem;
    color: var(--fv-muted);
    font-size: 0.875rem;
  }
  .or::before,
  .or::after {
    content: '';
    flex: 1;
    border-top: 1px solid var(--fv-border);
  }
  .note:empty {
    display: none;
  }
  .note.error {
    color: #7a1712;
  }
  .note.done {
    color: var(--fv-ok);
    font-weight: 600;
  }
  .actions {
    display: flex;
    gap: 0.75rem;
    flex-wrap: wrap;
  }
  button {
    font: inherit;
    font-weight: 600;
    min-height: 44px;
    padding: 0.5rem 1.25rem;
    border-radius: 8px;
    border: 2px solid var(--fv-accent);
    background: var(--fv-accent);
    color: #fff;
    cursor: pointer;
  }
  button.secondary {
    background: transparent;
    color: var(--fv-accent);
  }
  button:disabled {
    cursor: not-allowed;
    border-color: #a9b0bb;
    background: #e3e6eb;
    color: #4a5361;
  }
  button:focus-visible,
  input:focus-visible {
    outline: 3px solid #f2c200;
    outline-offset: 2px;
    box-shadow: 0 0 0 5px #1f2430;
  }
`;
