// The Train panel's loss curve: every step's loss (light) and its running average (dark) against
// the step, on a log scale, drawn into a canvas (losses[k]: step k + 1's).

export function drawLossPlot(canvas: HTMLCanvasElement, losses: readonly number[], totalSteps: number): void {
  const ctx = canvas.getContext('2d')!;
  const { width, height } = canvas;
  const left = 44, bottom = 18, top = 6, right = 8;
  ctx.fillStyle = '#fff';
  ctx.fillRect(0, 0, width, height);
  ctx.strokeStyle = '#bbb';
  ctx.strokeRect(left, top, width - left - right, height - top - bottom);
  // a resumed run's steps before the resume are not on this page: holes
  const points = losses.flatMap((l, i) => (Number.isFinite(l) && l > 0 ? [[i + 1, l] as const] : []));
  if (points.length === 0) return;
  const values = points.map(([, l]) => l);
  // a loop, not Math.min(...values): spreading a long run's losses overflows the call stack
  let min = Infinity, max = -Infinity;
  for (const v of values) {
    if (v < min) min = v;
    if (v > max) max = v;
  }
  const lo = Math.log10(min), hi = Math.log10(max);
  const span = Math.max(hi - lo, 1e-3);
  const x = (step: number) => left + ((width - left - right) * step) / Math.max(totalSteps, 1);
  const y = (loss: number) => top + ((height - top - bottom) * (hi - Math.log10(loss))) / span;
  const line = (series: readonly (readonly [number, number])[], color: string) => {
    ctx.strokeStyle = color;
    ctx.beginPath();
    series.forEach(([step, v], i) => (i ? ctx.lineTo(x(step), y(v)) : ctx.moveTo(x(step), y(v))));
    ctx.stroke();
  };
  line(points, '#b9c8e8');
  let smoothed = values[0]!;
  line(points.map(([step, l]) => [step, (smoothed = 0.95 * smoothed + 0.05 * l)] as const), '#1f4fa8');
  ctx.fillStyle = '#444';
  ctx.font = '11px system-ui, sans-serif';
  ctx.fillText(`${(10 ** hi).toPrecision(2)}`, 2, top + 9);
  ctx.fillText(`${(10 ** lo).toPrecision(2)}`, 2, height - bottom);
  ctx.fillText('loss (log)', 2, top + 22);
  ctx.fillText(`step ${points.at(-1)![0]} of ${totalSteps}`, left + 4, height - 4);
}
