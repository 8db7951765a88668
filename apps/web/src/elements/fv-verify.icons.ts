import { html, svg, type SVGTemplateResult, type TemplateResult } from 'lit';
import type { LivenessAction } from '@fv/protocol';

// Line glyphs for the liveness prompts: a face drawn in `currentColor` on a 24×24 grid, sized by
// the surrounding font (1em), so they follow the widget's colours and text size. Turn arrows point
// the way the face moves in the mirrored preview: the person's left is the screen's left.

const eyes = svg`<circle cx="9" cy="10" r="1" fill="currentColor" stroke="none"></circle>
  <circle cx="15" cy="10" r="1" fill="currentColor" stroke="none"></circle>`;
const face = svg`<circle cx="12" cy="12" r="9"></circle>`;

/** A head turned towards the screen's left, with an arrow that way. */
const turnLeft = svg`<circle cx="14.5" cy="12" r="7"></circle>
  <circle cx="11.8" cy="10.5" r="0.9" fill="currentColor" stroke="none"></circle>
  <circle cx="15.8" cy="10.5" r="0.9" fill="currentColor" stroke="none"></circle>
  <path d="M11.5 15.2q1.8 1.2 3.6 0"></path>
  <path d="M6 12H1.5M4 9.5 1.5 12 4 14.5"></path>`;

const GLYPHS: Record<LivenessAction | 'neutral', SVGTemplateResult> = {
  neutral: svg`${face}${eyes}<path d="M9 15.5h6"></path>`,
  smile: svg`${face}${eyes}<path d="M7.8 13.6q4.2 4.6 8.4 0"></path>`,
  open_mouth: svg`${face}${eyes}<ellipse cx="12" cy="15.6" rx="2.2" ry="2.8"></ellipse>`,
  blink: svg`${face}<path d="M7.5 10q1.5 1.4 3 0M13.5 10q1.5 1.4 3 0M9.5 15.5h5"></path>`,
  turn_left: turnLeft,
  turn_right: svg`<g transform="translate(24 0) scale(-1 1)">${turnLeft}</g>`,
};

/** The glyph of an action (or of the neutral face asked before each one). */
export function actionIcon(action: LivenessAction | 'neutral'): TemplateResult {
  return html`<svg
    class="glyph"
    viewBox="0 0 24 24"
    width="1em"
    height="1em"
    fill="none"
    stroke="currentColor"
    stroke-width="1.6"
    stroke-linecap="round"
    stroke-linejoin="round"
    aria-hidden="true"
    focusable="false"
  >
    ${GLYPHS[action]}
  </svg>`;
}
