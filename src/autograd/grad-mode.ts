let disabledDepth = 0;

export function isGradEnabled(): boolean {
  return disabledDepth === 0;
}

/** Runs fn without recording on the tape (EMA updates, targets, sampling). */
export function noGrad<T>(fn: () => T): T {
  disabledDepth++;
  try {
    return fn();
  } finally {
    disabledDepth--;
  }
}
