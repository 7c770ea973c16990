// The bench's outputs: a Markdown table on stdout (pasted as is into README),
// a JSON file and an SVG chart of the latency distributions, under bench/results/.
import { mkdirSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Summary } from './support';

export type Row = { scenario: string; measure: string; result: string; baseline: string };
export type Series = { label: string; summary: Summary };

export const ms = (value: number) => (Number.isFinite(value) ? (value >= 100 ? value.toFixed(0) : value.toFixed(2)) : 'n/a');
export const triple = (s: Summary) => `${ms(s.p50)} / ${ms(s.p99)} / ${ms(s.max)} ms`;

export function table(rows: Row[]): string {
  const lines = ['| scenario | measure | Ripple | baseline |', '| --- | --- | --- | --- |'];
  for (const row of rows) lines.push(`| ${row.scenario} | ${row.measure} | ${row.result} | ${row.baseline} |`);
  return lines.join('\n');
}

function svg(series: Series[]): string {
  const width = 960;
  const left = 330;
  const right = 30;
  const rowHeight = 26;
  const top = 40;
  const height = top + series.length * rowHeight + 50;
  const finite = series.flatMap((s) => [s.summary.p50, s.summary.max]).filter((v) => Number.isFinite(v) && v > 0);
  const lo = Math.pow(10, Math.floor(Math.log10(Math.max(0.01, Math.min(...finite, 1)))));
  const hi = Math.pow(10, Math.ceil(Math.log10(Math.max(...finite, 10))));
  const x = (value: number) => left + ((Math.log10(Math.max(value, lo)) - Math.log10(lo)) / (Math.log10(hi) - Math.log10(lo))) * (width - left - right);
  const parts: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" font-family="sans-serif" font-size="12">`,
    `<rect width="100%" height="100%" fill="white"/>`,
    `<text x="${left}" y="20" font-size="14">Latency (ms, log scale): bar p50 to p99, tick p90, dot max</text>`,
  ];
  for (let decade = lo; decade <= hi; decade *= 10) {
    const gx = x(decade);
    parts.push(`<line x1="${gx}" y1="${top - 8}" x2="${gx}" y2="${height - 40}" stroke="#ddd"/>`);
    parts.push(`<text x="${gx}" y="${height - 24}" text-anchor="middle">${decade < 1 ? decade.toFixed(2) : decade}</text>`);
  }
  series.forEach((s, index) => {
    const y = top + index * rowHeight + rowHeight / 2;
    const color = /baseline|off/i.test(s.label) ? '#999' : '#2563eb';
    parts.push(`<text x="${left - 8}" y="${y + 4}" text-anchor="end">${s.label.replace(/&/g, '&amp;').replace(/</g, '&lt;')}</text>`);
    if (!Number.isFinite(s.summary.p50)) return;
    parts.push(`<line x1="${x(s.summary.p50)}" y1="${y}" x2="${x(s.summary.p99)}" y2="${y}" stroke="${color}" stroke-width="10"/>`);
    parts.push(`<line x1="${x(s.summary.p90)}" y1="${y - 8}" x2="${x(s.summary.p90)}" y2="${y + 8}" stroke="black"/>`);
    parts.push(`<circle cx="${x(s.summary.max)}" cy="${y}" r="4" fill="${color}"/>`);
  });
  parts.push('</svg>');
  return parts.join('\n');
}

export function machine() {
  return { cpus: os.cpus().length, cpuModel: os.cpus()[0]?.model ?? 'unknown', memoryGiB: Math.round(os.totalmem() / 2 ** 30), node: process.version, platform: `${os.platform()} ${os.release()}` };
}

export function writeResults(dir: string, report: { rows: Row[]; series: Series[]; [key: string]: unknown }): { json: string; chart: string } {
  mkdirSync(dir, { recursive: true });
  const stamp = new Date().toISOString().replace(/[:.]/g, '-');
  const json = path.join(dir, `bench-${stamp}.json`);
  const chart = path.join(dir, `bench-${stamp}.svg`);
  writeFileSync(json, `${JSON.stringify(report, null, 2)}\n`);
  writeFileSync(chart, svg(report.series));
  writeFileSync(path.join(dir, 'latest.json'), `${JSON.stringify(report, null, 2)}\n`);
  writeFileSync(path.join(dir, 'latest.svg'), svg(report.series));
  return { json, chart };
}
