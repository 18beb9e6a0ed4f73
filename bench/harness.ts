import b from 'benny';

export interface Row {
  name: string;
  backend: string;
  median_ms: number;
  /** GFLOP/s where the case counts floating-point work, else null. */
  gflops: number | null;
  /** GB/s where the case is memory-bound and counts bytes moved, else null. */
  gbps: number | null;
}

export interface BenchCase {
  name: string;
  backend: string;
  flops?: number;
  bytes?: number;
  /** Prepares inputs (not timed) and returns the timed function. */
  setup: () => (() => void) | Promise<() => void>;
  /** Frees what setup made (tfjs tensors). */
  teardown?: () => void;
}

export interface SampleOptions {
  minSamples: number;
  maxTime: number;
}

/** Runs one case as a benny suite and reports its median. */
export async function measure(c: BenchCase, opts: SampleOptions): Promise<Row> {
  const run = await c.setup();
  let median = NaN;
  await b.suite(
    `${c.name} [${c.backend}]`,
    b.add(c.name, () => run()),
    b.configure({ cases: { minSamples: opts.minSamples, maxTime: opts.maxTime } }),
    b.complete((summary) => {
      median = summary.results[0]!.details.median;
    }),
  );
  c.teardown?.();
  return {
    name: c.name,
    backend: c.backend,
    median_ms: median * 1e3,
    gflops: c.flops === undefined ? null : c.flops / median / 1e9,
    gbps: c.bytes === undefined ? null : c.bytes / median / 1e9,
  };
}
