import { css } from 'lit';

/** Shadow styles of `<fv-match>`. */
export const fvMatchStyles = css`
  :host {
    display: block;
    color: var(--fv-text, #1b1f24);
    font: inherit;
  }
  .pickers {
    display: grid;
    grid-template-columns: repeat(auto-fit, minmax(min(100%, 240px), 1fr));
    gap: 1rem;
  }
  .picker {
    display: flex;
    flex-direction: column;
    gap: 0.5rem;
    min-width: 0;
    padding: 0.75rem;
    border: 1px solid var(--fv-border, #c9ced6);
    border-radius: 8px;
    background: var(--fv-surface, #fff);
  }
  label {
    font-weight: 600;
  }
  input[type='file'] {
    max-width: 100%;
    font: inherit;
    font-size: 0.9rem;
  }
  input[type='file']::file-selector-button {
    margin-right: 0.75rem;
    padding: 0.4rem 0.8rem;
    border: 1px solid var(--fv-border-strong, #6b7480);
    border-radius: 6px;
    background: var(--fv-surface-alt, #f2f4f7);
    color: inherit;
    font: inherit;
    cursor: pointer;
  }
  input[type='file']:focus-visible,
  button:focus-visible {
    /* Same ring as the pages (base.css): yellow with a dark halo, visible on any background. */
    outline: 3px solid #f2c200;
    outline-offset: 2px;
    box-shadow: 0 0 0 5px var(--fv-text, #1f2430);
  }
  .frame {
    display: grid;
    place-items: center;
    min-height: 180px;
    border-radius: 6px;
    background: var(--fv-surface-alt, #f2f4f7);
    overflow: hidden;
  }
  .shot {
    position: relative;
    display: inline-block;
    line-height: 0;
  }
  .shot img {
    display: block;
    max-width: 100%;
    max-height: 260px;
    height: auto;
  }
  .box {
    position: absolute;
    box-sizing: border-box;
    border: 3px solid #ffd400;
    box-shadow:
      0 0 0 1px #000,
      inset 0 0 0 1px #000;
    border-radius: 4px;
  }
  .empty {
    color: var(--fv-muted, #545d68);
    font-size: 0.9rem;
  }
  .note {
    margin: 0;
    min-height: 1.2em;
    color: var(--fv-muted, #545d68);
    font-size: 0.85rem;
  }
  .actions {
    display: flex;
    flex-wrap: wrap;
    align-items: center;
    gap: 0.75rem;
    margin-top: 1rem;
  }
  button {
    display: inline-flex;
    align-items: center;
    gap: 0.5rem;
    min-width: 8rem;
    justify-content: center;
    padding: 0.6rem 1.4rem;
    border: 0;
    border-radius: 6px;
    background: var(--fv-accent, #1a5fd0);
    color: #fff;
    font: inherit;
    font-weight: 600;
    cursor: pointer;
  }
  button:disabled {
    background: var(--fv-disabled, #6b7480);
    color: #fff;
    cursor: not-allowed;
  }
  button[aria-busy='true'] {
    cursor: progress;
  }
  .spinner {
    width: 1em;
    height: 1em;
    border: 2px solid rgb(255 255 255 / 0.5);
    border-top-color: #fff;
    border-radius: 50%;
    animation: spin 0.8s linear infinite;
  }
  @keyframes spin {
    to {
      transform: rotate(360deg);
    }
  }
  @media (prefers-reduced-motion: reduce) {
    .spinner {
      animation: none;
    }
  }
  .hint {
    color: var(--fv-muted, #545d68);
    font-size: 0.9rem;
  }
  .live:empty {
    display: none;
  }
  .outcome {
    margin-top: 1rem;
    padding: 0.9rem 1rem;
    border-radius: 8px;
    border-left: 6px solid;
  }
  .outcome p {
    margin: 0;
  }
  .headline {
    display: flex;
    align-items: center;
    gap: 0.5rem;
    font-size: 1.35rem;
    font-weight: 700;
  }
  .matched {
    background: #e6f4ea;
    border-color: #137333;
    color: #0d5326;
  }
  .not-matched {
    background: #fce8e6;
    border-color: #b3261e;
    color: #8c1d18;
  }
  .error {
    background: #fff4e5;
    border-color: #b06000;
    color: #5c3200;
  }
  .error .headline {
    font-size: 1.05rem;
  }
  .detail {
    margin-top: 0.5rem !important;
    font-size: 0.9rem;
  }
  dl {
    display: flex;
    flex-wrap: wrap;
    gap: 0.5rem 1.5rem;
    margin: 0.6rem 0 0;
  }
  dl div {
    display: flex;
    gap: 0.4rem;
    align-items: baseline;
  }
  dt {
    font-size: 0.85rem;
  }
  dd {
    margin: 0;
    font-weight: 700;
    font-variant-numeric: tabular-nums;
  }
`;
