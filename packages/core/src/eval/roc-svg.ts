import type { RocPoint } from '../metrics.ts';

export interface RocSeries {
  readonly label: string;
  readonly points: readonly RocPoint[];
}

const escapeXml = (s: string): string => s.replace(/[<>&"]/g, (c) => `&#${c.charCodeAt(0)};`);

/**
 * An ROC plot as standalone SVG: TAR against FAR on a log axis from 0.1% to 100% (the region
 * verification products operate in), one polyline per series.
 */
export function renderRocSvg(series: readonly RocSeries[], title: string): string {
  const W = 640,
    H = 480,
    L = 70,
    R = 20,
    T = 50,
    B = 60;
  const pw = W - L - R,
    ph = H - T - B;
  const minLog = -3;
  const x = (far: number): number => L + ((Math.log10(Math.max(far, 10 ** minLog)) - minLog) / -minLog) * pw;
  const y = (tar: number): number => T + (1 - tar) * ph;
  const colors = ['#1f6feb', '#d1242f', '#1a7f37', '#8250df', '#bf8700'];
  const parts: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="sans-serif" font-size="12">`,
    `<rect width="${W}" height="${H}" fill="#fff"/>`,
    `<text x="${W / 2}" y="24" text-anchor="middle" font-size="15">${escapeXml(title)}</text>`,
  ];
  for (let e = minLog; e <= 0; e++) {
    const gx = x(10 ** e);
    parts.push(`<line x1="${gx}" y1="${T}" x2="${gx}" y2="${T + ph}" stroke="#ddd"/>`);
    parts.push(
      `<text x="${gx}" y="${T + ph + 18}" text-anchor="middle">${e === 0 ? '100%' : `${10 ** e * 100}%`}</text>`,
    );
  }
  for (let t = 0; t <= 10; t += 2) {
    const gy = y(t / 10);
    parts.push(`<line x1="${L}" y1="${gy}" x2="${L + pw}" y2="${gy}" stroke="#ddd"/>`);
    parts.push(`<text x="${L - 8}" y="${gy + 4}" text-anchor="end">${t * 10}%</text>`);
  }
  parts.push(`<rect x="${L}" y="${T}" width="${pw}" height="${ph}" fill="none" stroke="#333"/>`);
  parts.push(
    `<text x="${L + pw / 2}" y="${H - 18}" text-anchor="middle">False accept rate (log scale)</text>`,
  );
  parts.push(
    `<text transform="translate(18 ${T + ph / 2}) rotate(-90)" text-anchor="middle">True accept rate</text>`,
  );
  series.forEach((s, i) => {
    const color = colors[i % colors.length]!;
    // Step curve: TAR rises at constant FAR, then FAR moves.
    const pts: string[] = [];
    let prev: RocPoint | undefined;
    for (const p of s.points) {
      if (prev) pts.push(`${x(p.far).toFixed(1)},${y(prev.tar).toFixed(1)}`);
      pts.push(`${x(p.far).toFixed(1)},${y(p.tar).toFixed(1)}`);
      prev = p;
    }
    parts.push(`<polyline fill="none" stroke="${color}" stroke-width="2" points="${pts.join(' ')}"/>`);
    parts.push(
      `<rect x="${L + pw - 320}" y="${T + ph - 24 - i * 20}" width="12" height="12" fill="${color}"/>`,
    );
    parts.push(`<text x="${L + pw - 302}" y="${T + ph - 14 - i * 20}">${escapeXml(s.label)}</text>`);
  });
  parts.push('</svg>');
  return `${parts.join('\n')}\n`;
}
