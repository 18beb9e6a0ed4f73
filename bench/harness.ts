import b from 'benny';

export interface Row {
  name: string;
  backend: string;
  median_ms: number;
  /** GFLOP/s where the case counts floating-point work, else null. */
  gflops: number | null;
  /** GB/s where the case is memory-bound and counts bytes moved, else null. */
  gbps: number | null;
  /** Microseconds per kernel launch, where the case counts its launches. */
  us_per_launch?: number;
  /** gpu.js backends: device work per call (launches_per_step, submits_per_step, messages_per_step, ...). */
  counters?: Record<string, number>;
}

/** A timed function; one that returns a promise is timed until the promise settles. */
export type Timed = () => void | Promise<void>;

export interface BenchCase {
  name: string;
  backend: string;
  flops?: number;
  bytes?: number;
  /** Kernel launches per run, for a launch-bound case. */
  launches?: number;
  /** Prepares inputs (not timed) and returns the timed function. */
  setup: () => Timed | Promise<Timed>;
  /** Frees what setup made (tfjs tensors). */
  teardown?: () => void;
  /** Filled in by setup where it measures the device work of one call (gpu.js backends). */
  counters?: Record<string, number>;
  /** The case's own sampling, for a case of seconds per call. */
  sampling?: SampleOptions;
}

export interface SampleOptions {
  minSamples: number;
  maxTime: number;
}

/**
 * benny 3.7.1 calls a case before timing it to learn whether it returns a promise and, when it
 * does, calls it again without waiting for the first (benny/lib/add.js). Async runs are chained
 * here so that no two overlap: each starts when the previous one has settled.
 */
function oneAtATime(run: Timed): Timed {
  let last: Promise<void> | null = null;
  return () => {
    if (last) return (last = last.then(run));
    const result = run();
    if (result instanceof Promise) last = result;
    return result;
  };
}

/** Runs one case as a benny suite (deferred when its timed function is async) and reports its median. */
export async function measure(c: BenchCase, opts: SampleOptions): Promise<Row> {
  const run = await c.setup();
  let median = NaN;
  await b.suite(
    `${c.name} [${c.backend}]`,
    b.add(c.name, oneAtATime(run)),
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
    ...(c.launches === undefined ? {} : { us_per_launch: (median * 1e6) / c.launches }),
    ...(c.counters ? { counters: c.counters } : {}),
  };
}
