/**
 * A small line chart in SVG: a few series over the last minutes, a y axis from zero to the
 * largest value shown, and a legend with the latest values (also the chart's text alternative).
 */
import { h, replace, svg } from './dom.js';

export interface Series {
  label: string;
  /** A CSS class giving the line its colour (see style.css). */
  className: string;
  values: (number | undefined)[];
  format(value: number): string;
}

const width = 360;
const height = 140;
const padLeft = 64;
const padBottom = 18;

export class LineChart {
  readonly element: HTMLElement;
  private readonly plot: SVGSVGElement;
  private readonly legend: HTMLElement;

  constructor(
    private readonly title: string,
    private readonly capacity: number,
  ) {
    this.plot = svg('svg', { viewBox: `0 0 ${width} ${height}`, class: 'chart-svg', role: 'img', 'aria-label': title });
    this.legend = h('ul', { class: 'legend' });
    this.element = h('figure', { class: 'chart' }, h('figcaption', null, title), this.plot, this.legend);
  }

  draw(series: Series[]): void {
    const all = series.flatMap((s) => s.values.filter((v): v is number => v !== undefined && Number.isFinite(v)));
    const max = niceMax(Math.max(0, ...all));
    const plotWidth = width - padLeft;
    const plotHeight = height - padBottom;
    const x = (i: number) => padLeft + (plotWidth * i) / Math.max(1, this.capacity - 1);
    const y = (v: number) => plotHeight - (plotHeight * v) / max;
    const format = series[0]?.format ?? String;
    const children: SVGElement[] = [
      svg('line', { x1: padLeft, y1: plotHeight, x2: width, y2: plotHeight, class: 'axis' }),
      svg('line', { x1: padLeft, y1: 0, x2: padLeft, y2: plotHeight, class: 'axis' }),
      svg('text', { x: padLeft - 4, y: 10, class: 'tick', 'text-anchor': 'end' }, format(max)),
      svg('text', { x: padLeft - 4, y: plotHeight, class: 'tick', 'text-anchor': 'end' }, format(0)),
      svg('line', { x1: padLeft, y1: plotHeight / 2, x2: width, y2: plotHeight / 2, class: 'grid' }),
    ];
    for (const s of series) {
      // Each run of known values is its own line; gaps (no data) are left blank.
      const offset = this.capacity - s.values.length;
      let run: string[] = [];
      const flush = () => {
        if (run.length > 1) children.push(svg('polyline', { points: run.join(' '), class: `line ${s.className}` }));
        run = [];
      };
      s.values.forEach((v, i) => {
        if (v === undefined || !Number.isFinite(v)) return flush();
        run.push(`${x(offset + i).toFixed(1)},${y(v).toFixed(1)}`);
      });
      flush();
    }
    replace(this.plot, ...children);
    replace(
      this.legend,
      ...series.map((s) => {
        const latest = s.values[s.values.length - 1];
        return h(
          'li',
          null,
          h('span', { class: `swatch ${s.className}`, 'aria-hidden': 'true' }),
          `${s.label}: `,
          h('strong', null, latest === undefined ? '–' : s.format(latest)),
        );
      }),
    );
  }
}

/** 1, 2 or 5 times a power of ten, at least `value`; 1 when there is nothing to show. */
export function niceMax(value: number): number {
  if (!(value > 0)) return 1;
  const power = 10 ** Math.floor(Math.log10(value));
  for (const step of [1, 2, 5, 10]) if (step * power >= value) return step * power;
  return 10 * power;
}
