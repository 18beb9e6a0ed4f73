// The Frechet distance between two Gaussians fitted to feature sets (the formula of FID):
//   FD = ||mu1 - mu2||^2 + Tr(S1) + Tr(S2) - 2 Tr((S1 S2)^(1/2)).
// S1 S2 is not symmetric, so its square root is taken the numerically sound way: with R = S1^(1/2)
// (symmetric, from an eigendecomposition), (S1 S2)^(1/2) is similar to (R S2 R)^(1/2), a symmetric
// positive semi-definite matrix, so Tr((S1 S2)^(1/2)) = sum of sqrt(eigenvalues of R S2 R). All in
// float64; eigenvalues below zero (rounding) are clipped to zero.

/** A symmetric d x d matrix, row-major. */
export interface SymmetricMatrix {
  d: number;
  values: Float64Array;
}

export interface GaussianStats {
  mean: Float64Array;
  covariance: SymmetricMatrix;
  count: number;
}

/** Mean and unbiased covariance of n feature rows of length d (row-major). */
export function gaussianStats(features: ArrayLike<number>, n: number, d: number): GaussianStats {
  if (n < 2) throw new Error(`gaussianStats: need at least 2 feature rows, got ${n}.`);
  if (features.length !== n * d) throw new Error(`gaussianStats: ${features.length} values are not ${n} rows of ${d}.`);
  const mean = new Float64Array(d);
  for (let i = 0; i < n; i++) for (let j = 0; j < d; j++) mean[j]! += features[i * d + j]!;
  for (let j = 0; j < d; j++) mean[j]! /= n;
  const cov = new Float64Array(d * d);
  const row = new Float64Array(d);
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < d; j++) row[j] = features[i * d + j]! - mean[j]!;
    for (let j = 0; j < d; j++) {
      const rj = row[j]!;
      for (let k = j; k < d; k++) cov[j * d + k]! += rj * row[k]!;
    }
  }
  for (let j = 0; j < d; j++) {
    for (let k = j; k < d; k++) {
      const v = cov[j * d + k]! / (n - 1);
      cov[j * d + k] = v;
      cov[k * d + j] = v;
    }
  }
  return { mean, covariance: { d, values: cov }, count: n };
}

/**
 * Eigenvalues and eigenvectors of a symmetric matrix by cyclic Jacobi rotations (Golub & Van Loan,
 * section 8.5): slow for large d but unconditionally stable and accurate to rounding. Returns the
 * eigenvalues and V with A = V diag(values) V^T (eigenvectors in the columns of V).
 */
export function symmetricEigen(m: SymmetricMatrix): { values: Float64Array; vectors: Float64Array } {
  const { d } = m;
  const a = Float64Array.from(m.values);
  const v = new Float64Array(d * d);
  for (let i = 0; i < d; i++) v[i * d + i] = 1;
  for (let sweep = 0; sweep < 100; sweep++) {
    let off = 0, total = 0;
    for (let p = 0; p < d; p++) {
      for (let q = 0; q < d; q++) {
        const x = a[p * d + q]! * a[p * d + q]!;
        total += x;
        if (p !== q) off += x;
      }
    }
    if (off <= 1e-30 * total || off === 0) break;
    for (let p = 0; p < d - 1; p++) {
      for (let q = p + 1; q < d; q++) {
        const apq = a[p * d + q]!;
        if (apq === 0) continue;
        const theta = (a[q * d + q]! - a[p * d + p]!) / (2 * apq);
        const t = Math.sign(theta || 1) / (Math.abs(theta) + Math.sqrt(theta * theta + 1));
        const c = 1 / Math.sqrt(t * t + 1), s = t * c;
        for (let k = 0; k < d; k++) {
          const akp = a[k * d + p]!, akq = a[k * d + q]!;
          a[k * d + p] = c * akp - s * akq;
          a[k * d + q] = s * akp + c * akq;
        }
        for (let k = 0; k < d; k++) {
          const apk = a[p * d + k]!, aqk = a[q * d + k]!;
          a[p * d + k] = c * apk - s * aqk;
          a[q * d + k] = s * apk + c * aqk;
        }
        for (let k = 0; k < d; k++) {
          const vkp = v[k * d + p]!, vkq = v[k * d + q]!;
          v[k * d + p] = c * vkp - s * vkq;
          v[k * d + q] = s * vkp + c * vkq;
        }
      }
    }
  }
  const values = new Float64Array(d);
  for (let i = 0; i < d; i++) values[i] = a[i * d + i]!;
  return { values, vectors: v };
}

/** The symmetric square root of a positive semi-definite matrix (negative rounding clipped to 0). */
export function sqrtPsd(m: SymmetricMatrix): SymmetricMatrix {
  const { d } = m;
  const { values, vectors } = symmetricEigen(m);
  const out = new Float64Array(d * d);
  for (let k = 0; k < d; k++) {
    const r = Math.sqrt(Math.max(values[k]!, 0));
    if (r === 0) continue;
    for (let i = 0; i < d; i++) {
      const vik = vectors[i * d + k]! * r;
      for (let j = i; j < d; j++) out[i * d + j]! += vik * vectors[j * d + k]!;
    }
  }
  for (let i = 0; i < d; i++) for (let j = 0; j < i; j++) out[i * d + j] = out[j * d + i]!; // exactly symmetric
  return { d, values: out };
}

function multiply(a: Float64Array, b: Float64Array, d: number): Float64Array {
  const out = new Float64Array(d * d);
  for (let i = 0; i < d; i++) {
    for (let k = 0; k < d; k++) {
      const aik = a[i * d + k]!;
      if (aik === 0) continue;
      for (let j = 0; j < d; j++) out[i * d + j]! += aik * b[k * d + j]!;
    }
  }
  return out;
}

/** Tr((S1 S2)^(1/2)) through the symmetric form (S1^(1/2) S2 S1^(1/2))^(1/2). */
export function traceSqrtProduct(s1: SymmetricMatrix, s2: SymmetricMatrix): number {
  const { d } = s1;
  const r = sqrtPsd(s1).values;
  const m = multiply(multiply(r, s2.values, d), r, d);
  for (let i = 0; i < d; i++) {
    for (let j = i + 1; j < d; j++) {
      const v = (m[i * d + j]! + m[j * d + i]!) / 2; // symmetric up to rounding
      m[i * d + j] = v;
      m[j * d + i] = v;
    }
  }
  return symmetricEigen({ d, values: m }).values.reduce((acc, v) => acc + Math.sqrt(Math.max(v, 0)), 0);
}

/** The Frechet distance between two fitted Gaussians. */
export function frechetDistance(a: GaussianStats, b: GaussianStats): number {
  const d = a.mean.length;
  if (b.mean.length !== d) throw new Error(`frechetDistance: features of ${d} and ${b.mean.length} dimensions.`);
  let meanTerm = 0, trace = 0;
  for (let i = 0; i < d; i++) {
    meanTerm += (a.mean[i]! - b.mean[i]!) ** 2;
    trace += a.covariance.values[i * d + i]! + b.covariance.values[i * d + i]!;
  }
  return meanTerm + trace - 2 * traceSqrtProduct(a.covariance, b.covariance);
}
