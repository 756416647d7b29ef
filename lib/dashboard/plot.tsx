/// <reference lib="dom" />
/** @jsxImportSource preact */
/**
 * Plot: one uPlot chart (canvas, drawn in the page, nothing loaded) as a Preact component. Its
 * colours are the theme's custom properties, read when it is drawn, so it is drawn again when
 * the theme changes; it takes the width of its box and follows it (a phone's 390 px too). The
 * legend under it shows each series' value at the cursor (the plot's tooltip); the exact
 * figures are the stats view's tables.
 */
import { useEffect, useRef } from "preact/hooks";
import uPlot from "uplot";
import { theme } from "./state.ts";
import type { PlotSeries } from "./stats_data.ts";

const HEIGHT = 190;
const FONT = '11px -apple-system, BlinkMacSystemFont, "Segoe UI", Roboto, Arial, sans-serif';

export interface PlotSpec {
  /** Bars stacked on each other (each series' own value in the legend), or lines with points. */
  kind: "stacked" | "lines";
  /** x of each value: seconds since the epoch (a time axis in UTC), or category indexes. */
  x: number[];
  /** With categories, x is 0..n-1 and the axis names them. */
  categories?: string[];
  /** The width of one bucket, in seconds (time axes). */
  step?: number;
  /** How the x value reads in the legend (a bucket's start, in UTC). */
  xText?: (x: number) => string;
  series: PlotSeries[];
  /** How a y value reads on the axis and in the legend. */
  format: (v: number) => string;
  /** How a y value reads on the axis, when shorter than in the legend. */
  axisFormat?: (v: number) => string;
  /** The steps the y axis may use (counts: whole numbers; waits: minutes, hours). */
  steps?: number[];
}

/** color reads one of the theme's custom properties (`--ok`) as the canvas needs it. */
function color(name: string): string {
  return getComputedStyle(document.documentElement).getPropertyValue(name).trim() || "#888";
}

/** stack turns the series into running totals: uPlot draws bars, not stacks. */
function stack(series: PlotSeries[]): (number | null)[][] {
  const sums: (number | null)[] = series[0]?.values.map(() => null) ?? [];
  return series.map((s) =>
    s.values.map((v, i) => {
      if (v !== null) sums[i] = (sums[i] ?? 0) + v;
      return sums[i] ?? null;
    })
  );
}

/** data is what uPlot draws: x, then each series (stacked: as running totals). */
function data(spec: PlotSpec): uPlot.AlignedData {
  const ys = spec.kind === "stacked" ? stack(spec.series) : spec.series.map((s) => s.values);
  return [spec.x, ...ys] as uPlot.AlignedData;
}

/**
 * bands pairs each stacked series with the one under it: uPlot's bars then run from the total
 * below to the series' own total, so every segment of a stack shows.
 */
function bands(spec: PlotSpec): uPlot.Band[] {
  if (spec.kind !== "stacked") return [];
  return spec.series.slice(1).map((_, i) => ({ series: [i + 2, i + 1] }));
}

function xAxis(spec: PlotSpec, text: string, grid: string): uPlot.Axis {
  const base: uPlot.Axis = {
    stroke: text,
    font: FONT,
    grid: { show: false },
    ticks: { stroke: grid },
  };
  const names = spec.categories;
  if (names === undefined) return base;
  return {
    ...base,
    splits: () => names.map((_, i) => i),
    values: (_u, splits) => splits.map((i) => names[i] ?? ""),
  };
}

/** options builds the chart for `width` px in the current theme's colours. */
function options(spec: PlotSpec, width: number): uPlot.Options {
  const text = color("--muted");
  const grid = color("--border");
  const half = spec.categories ? 0.5 : (spec.step ?? 0) / 2;
  const first = spec.x[0] ?? 0;
  const last = spec.x[spec.x.length - 1] ?? 0;
  const bars = uPlot.paths.bars!({ size: [0.7, 48], gap: 1 });
  return {
    width,
    height: HEIGHT,
    // Bucket starts are UTC: the axis says so, whatever the browser's time zone.
    tzDate: (ts) => uPlot.tzDate(new Date(ts * 1000), "Etc/UTC"),
    cursor: { drag: { x: false, y: false }, points: { size: 6 } },
    legend: { live: true },
    scales: {
      x: {
        time: spec.categories === undefined,
        range: () => [first - half, last + half],
      },
      y: { range: (_u, _min, max) => [0, max > 0 ? max * 1.1 : 1] },
    },
    bands: bands(spec),
    axes: [
      xAxis(spec, text, grid),
      {
        stroke: text,
        font: FONT,
        grid: { stroke: grid, width: 1 },
        ticks: { stroke: grid },
        size: 52,
        ...(spec.steps ? { incrs: spec.steps } : {}),
        values: (_u, splits) => splits.map((v) => (spec.axisFormat ?? spec.format)(v)),
      },
    ],
    series: [
      {
        label: spec.categories ? "profile" : "bucket",
        value: (_u, v) =>
          v === null || v === undefined
            ? "–"
            : spec.categories
            ? spec.categories[v] ?? ""
            : spec.xText?.(v) ?? String(v),
      },
      ...spec.series.map((s): uPlot.Series => ({
        label: s.label,
        stroke: color(s.color),
        ...(spec.kind === "stacked"
          ? { fill: color(s.color), width: 0, paths: bars, points: { show: false } }
          : { width: 2, points: { show: true, size: 5, fill: color(s.color) } }),
        // the legend writes the series' own value, not the running total it is drawn at
        value: (_u, _v, _si, i) => {
          const v = i === null ? null : s.values[i] ?? null;
          return v === null ? "–" : spec.format(v);
        },
      })),
    ],
  };
}

/**
 * Plot draws `spec`; it is drawn again when the spec or the theme changes, and resized (not
 * redrawn from scratch) when its box changes width.
 */
export function Plot({ spec, testid }: { spec: PlotSpec; testid: string }) {
  const box = useRef<HTMLDivElement>(null);
  const dark = theme.value === "dark";
  useEffect(() => {
    const el = box.current;
    if (el === null) return;
    let width = el.clientWidth;
    const plot = new uPlot(options(spec, width), data(spec), el);
    let frame = 0;
    // Resized in the next frame, and only when the width changed: setting the size inside the
    // observer's callback could change what it observes and loop.
    const observer = new ResizeObserver(() => {
      cancelAnimationFrame(frame);
      frame = requestAnimationFrame(() => {
        if (el.clientWidth === width || el.clientWidth === 0) return;
        width = el.clientWidth;
        plot.setSize({ width, height: HEIGHT });
      });
    });
    observer.observe(el);
    return () => {
      cancelAnimationFrame(frame);
      observer.disconnect();
      plot.destroy();
    };
  }, [spec, dark]);
  return <div class="plot" ref={box} data-testid={testid} />;
}
