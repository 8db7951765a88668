import { css } from 'lit';

/**
 * Shadow styles of `<fv-verify>`'s decision and liveness step (the `decision` and `liveness` parts,
 * the prompt over the preview); the same `--fv-*` colours as `fv-verify.styles.ts`.
 */
export const fvVerifyLivenessStyles = css`
  .decision {
    display: flex;
    align-items: center;
    gap: 0.625rem;
    padding: 0.75rem 0.875rem;
    border-radius: 10px;
    font-size: 1.625rem;
    font-weight: 800;
    color: #fff;
  }
  .decision .icon {
    display: inline-grid;
    place-items: center;
    width: 2.25rem;
    height: 2.25rem;
    border-radius: 50%;
    background: rgb(255 255 255 / 0.22);
    font-size: 1.375rem;
  }
  .d-verified {
    background: var(--fv-ok);
  }
  .d-not_verified {
    background: var(--fv-bad);
  }
  /* Unseen but present while pending, so the first decision is announced. */
  .d-pending,
  .sr-only {
    position: absolute;
    width: 1px;
    height: 1px;
    padding: 0;
    margin: -1px;
    overflow: hidden;
    clip: rect(0 0 0 0);
    white-space: nowrap;
    border: 0;
  }
  .liveness {
    display: flex;
    flex-direction: column;
    gap: 0.625rem;
    padding: 0.75rem 0.875rem;
    border: 2px solid var(--fv-border);
    border-radius: 10px;
    background: var(--fv-surface);
  }
  .l-challenge,
  .l-lead-in {
    border-color: var(--fv-accent);
  }
  .l-passed {
    border-color: var(--fv-ok);
  }
  .l-failed {
    border-color: var(--fv-bad);
  }
  .prompt {
    display: flex;
    align-items: center;
    gap: 0.75rem;
  }
  .prompt-icon {
    flex: none;
    display: grid;
    place-items: center;
    width: 3.25rem;
    height: 3.25rem;
    border-radius: 50%;
    font-size: 2.25rem;
    color: var(--fv-accent);
    background: #e8effc;
  }
  .l-passed .prompt-icon {
    color: var(--fv-ok);
    background: #e6f4ea;
  }
  .l-failed .prompt-icon {
    color: var(--fv-bad);
    background: #fdecea;
  }
  .l-waiting .prompt-icon,
  .l-retrying .prompt-icon {
    color: var(--fv-muted);
    background: #eef0f3;
  }
  .mark {
    font-size: 1.5rem;
    font-weight: 800;
  }
  .glyph {
    display: block;
  }
  .prompt-words {
    display: flex;
    flex-direction: column;
    min-width: 0;
  }
  .prompt-step {
    color: var(--fv-muted);
    font-size: 0.875rem;
  }
  .prompt-text {
    font-size: 1.3125rem;
    line-height: 1.25;
  }
  .prompt-extra {
    font-size: 0.9375rem;
  }
  .countdown {
    display: flex;
    align-items: center;
    gap: 0.625rem;
  }
  .track {
    flex: 1;
    height: 0.5rem;
    border-radius: 999px;
    background: #dde1e7;
    overflow: hidden;
  }
  .fill {
    height: 100%;
    background: var(--fv-accent);
    transform-origin: left;
    animation: fv-countdown linear forwards;
  }
  @keyframes fv-countdown {
    from {
      transform: scaleX(1);
    }
    to {
      transform: scaleX(0);
    }
  }
  @media (prefers-reduced-motion: reduce) {
    .fill {
      animation: none;
    }
  }
  .seconds {
    min-width: 2.5rem;
    text-align: right;
    font-weight: 700;
    font-variant-numeric: tabular-nums;
  }
  .steps {
    display: flex;
    flex-wrap: wrap;
    gap: 0.375rem;
    margin: 0;
    padding: 0;
    list-style: none;
  }
  .step {
    display: inline-flex;
    align-items: center;
    gap: 0.3rem;
    padding: 0.2rem 0.6rem;
    border: 1px solid var(--fv-border);
    border-radius: 999px;
    font-size: 0.875rem;
    color: var(--fv-muted);
  }
  .step-icon {
    font-size: 1.125rem;
  }
  .st-active {
    border-color: var(--fv-accent);
    color: var(--fv-accent);
    font-weight: 600;
  }
  .st-passed {
    border-color: var(--fv-ok);
    color: var(--fv-ok);
    background: #e6f4ea;
  }
  .st-failed {
    border-color: var(--fv-bad);
    color: var(--fv-bad);
    background: #fdecea;
  }
  .liveness button {
    align-self: flex-start;
  }
  .cue {
    position: absolute;
    left: 0.75rem;
    right: 0.75rem;
    bottom: 0.75rem;
    display: flex;
    align-items: center;
    gap: 0.625rem;
    padding: 0.5rem 0.75rem;
    border-radius: 10px;
    background: rgb(31 36 48 / 0.85);
    color: #fff;
    font-size: 1.125rem;
    font-weight: 700;
  }
  .c-challenge {
    background: rgb(11 87 208 / 0.92);
  }
  .cue-icon {
    flex: none;
    font-size: 1.875rem;
  }
  .cue-seconds {
    flex: none;
    margin-left: auto;
    display: grid;
    place-items: center;
    width: 2.25rem;
    height: 2.25rem;
    border: 2px solid #fff;
    border-radius: 50%;
    font-variant-numeric: tabular-nums;
  }
  @container (max-width: 640px) {
    .cue {
      font-size: 1rem;
    }
  }
`;
