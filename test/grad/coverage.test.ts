import { readFileSync } from 'node:fs';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';
import { tensor, type Tensor } from '../../src/index';
import * as ops from '../../src/ops/index';
import { tableRows } from '../helpers/gradcheck';

// Every functional op that src/ops exports is accounted for here: either the test of this folder
// that gradchecks it, or an exemption saying why it has no gradient to check. The table is a
// Record over keyof typeof ops, so an op added to src/ops without an entry does not compile
// (`npx tsc --noEmit`), and the tests below check at run time that the entries tell the truth.

/** The gradient test files of this folder. */
type GradTestFile = 'elementwise.test.ts' | 'layers.test.ts' | 'reduce-movement.test.ts';

/**
 * Where an op's gradient is checked, `file: title`, the title of a describe or it block of that
 * file (a string literal, unique in the file) that gradchecks the op; or why there is nothing to check.
 */
type Coverage = `${GradTestFile}: ${string}` | { noGradient: string };

const COMPARISON = 'a comparison: 0/1 values, piecewise constant, so no gradient; it records nothing on the tape';

const GRADIENT_TESTED = {
  // elementwise.test.ts
  neg: 'elementwise.test.ts: gradients of unary ops',
  exp: 'elementwise.test.ts: gradients of unary ops',
  log: 'elementwise.test.ts: gradients of unary ops',
  sin: 'elementwise.test.ts: gradients of unary ops',
  cos: 'elementwise.test.ts: gradients of unary ops',
  sqrt: 'elementwise.test.ts: gradients of unary ops',
  tanh: 'elementwise.test.ts: gradients of unary ops',
  sigmoid: 'elementwise.test.ts: gradients of unary ops',
  silu: 'elementwise.test.ts: gradients of unary ops',
  relu: 'elementwise.test.ts: gradients of unary ops',
  abs: 'elementwise.test.ts: gradients of unary ops',
  square: 'elementwise.test.ts: gradients of unary ops',
  reciprocal: 'elementwise.test.ts: gradients of unary ops',
  clamp: 'elementwise.test.ts: gradients of unary ops',
  add: 'elementwise.test.ts: gradients of broadcasting binary ops',
  sub: 'elementwise.test.ts: gradients of broadcasting binary ops',
  mul: 'elementwise.test.ts: gradients of broadcasting binary ops',
  div: 'elementwise.test.ts: gradients of broadcasting binary ops',
  pow: 'elementwise.test.ts: gradients of broadcasting binary ops',
  maximum: 'elementwise.test.ts: gradients of broadcasting binary ops',
  minimum: 'elementwise.test.ts: gradients of broadcasting binary ops',
  where: 'elementwise.test.ts: where over broadcast shapes (condition from a comparison)',
  cast: 'elementwise.test.ts: gradient of cast',
  lt: { noGradient: COMPARISON },
  le: { noGradient: COMPARISON },
  gt: { noGradient: COMPARISON },
  ge: { noGradient: COMPARISON },
  eq: { noGradient: COMPARISON },
  ne: { noGradient: COMPARISON },
  asTensor: {
    noGradient:
      'not an op on the tape: returns its tensor argument itself, or wraps a number as a constant (the number operands of the binary ops, e.g. pow(x, 2.5) in the unary tests, go through it)',
  },

  // reduce-movement.test.ts
  sum: 'reduce-movement.test.ts: gradients of reductions',
  max: 'reduce-movement.test.ts: gradients of reductions',
  min: 'reduce-movement.test.ts: min over axes (distinct values)',
  mean: 'reduce-movement.test.ts: mean over axes',
  variance: 'reduce-movement.test.ts: var over axes (correction 1 and 0)',
  reshape: 'reduce-movement.test.ts: reshape (with -1)',
  flatten: 'reduce-movement.test.ts: flatten from a random axis (negative too)',
  unsqueeze: 'reduce-movement.test.ts: unsqueeze at a random axis (negative too)',
  squeeze: 'reduce-movement.test.ts: squeeze of every size-1 axis, or of one (negative too)',
  permute: 'reduce-movement.test.ts: permute by a random order',
  transpose: 'reduce-movement.test.ts: transpose of the last two axes',
  expand: 'reduce-movement.test.ts: expand to a broadcast shape',
  slice: 'reduce-movement.test.ts: slice with random ranges (negative indices too)',
  pad: 'reduce-movement.test.ts: pad with random amounts and value',
  concat: 'reduce-movement.test.ts: concat of two or three tensors along a random axis',

  // layers.test.ts
  matmul: 'layers.test.ts: matmul with broadcast batch dimensions',
  linear: 'layers.test.ts: linear with and without bias over leading dimensions',
  conv2d: 'layers.test.ts: gradient of conv2d',
  groupNorm: 'layers.test.ts: gradients of groupNorm and groupNormSilu',
  groupNormSilu: 'layers.test.ts: gradients of groupNorm and groupNormSilu',
  interpolate: 'layers.test.ts: gradient of nearest interpolation',
  upsampleNearest2x: 'layers.test.ts: upsampleNearest2x',
  downsampleNearest2x: 'layers.test.ts: downsampleNearest2x (odd sizes too)',
  avgPool2x2: 'layers.test.ts: avgPool2x2',
  softmax: 'layers.test.ts: softmax along a random axis',
  logSoftmax: 'layers.test.ts: logSoftmax along a random axis',
  attention: 'layers.test.ts: attention over [B, d, n] with the default and a given scale',
  mseLoss: 'layers.test.ts: mseLoss',
  crossEntropy: 'layers.test.ts: crossEntropy with integer labels',
  dropout: 'layers.test.ts: gradient of dropout',
} satisfies Record<keyof typeof ops, Coverage>;

type Entry = keyof typeof GRADIENT_TESTED;
type Exempt = { [K in Entry]: (typeof GRADIENT_TESTED)[K] extends { noGradient: string } ? K : never }[Entry];

/** For each exemption, a call whose result must be off the tape although its input requires grad. */
const noGradientProbes: Record<Exempt, (x: Tensor) => Tensor> = {
  lt: (x) => ops.lt(x, 0.5),
  le: (x) => ops.le(0.5, x),
  gt: (x) => ops.gt(x, x.mul(0.5)),
  ge: (x) => ops.ge(x, 0.5),
  eq: (x) => ops.eq(x, x),
  ne: (x) => ops.ne(x, 0.5),
  asTensor: (x) => ops.asTensor(0.5, x),
};

/**
 * The ops whose gradient each describe or it block with a literal title gradchecks, by title (a
 * list, to catch titles that are not unique). A block counts an op when its callback, together with
 * the top-level constants of the file that it names (tables, case lists, arbitraries, transitively),
 * calls gradcheck and either names the op as `ops.NAME` or indexes `ops[...]` with the op a key of
 * a `Record<...>`-typed table in that scope (the tables keyed by the engine's op unions).
 */
function gradcheckedOps(file: GradTestFile): Map<string, Set<string>[]> {
  const path = new URL(file, import.meta.url);
  const source = ts.createSourceFile(file, readFileSync(path, 'utf8'), ts.ScriptTarget.Latest, true);
  const topLevel = new Map<string, ts.VariableDeclaration>();
  for (const statement of source.statements) {
    if (!ts.isVariableStatement(statement)) continue;
    for (const d of statement.declarationList.declarations) if (ts.isIdentifier(d.name)) topLevel.set(d.name.text, d);
  }
  const isOps = (n: ts.Node) => ts.isIdentifier(n) && n.text === 'ops';
  const keysOfRecordTable = (d: ts.VariableDeclaration): string[] =>
    d.type && ts.isTypeReferenceNode(d.type) && ts.isIdentifier(d.type.typeName) && d.type.typeName.text === 'Record' &&
    d.initializer && ts.isObjectLiteralExpression(d.initializer)
      ? d.initializer.properties.flatMap((p) => (p.name && (ts.isIdentifier(p.name) || ts.isStringLiteral(p.name)) ? [p.name.text] : []))
      : [];

  const checkedIn = (body: ts.Node): Set<string> => {
    let callsGradcheck = false, indexesOps = false;
    const named = new Set<string>(), tableKeys = new Set<string>(), seen = new Set<string>();
    const scope: ts.Node[] = [body];
    const walk = (n: ts.Node): void => {
      if (ts.isCallExpression(n) && ts.isIdentifier(n.expression) && n.expression.text === 'gradcheck') callsGradcheck = true;
      if (ts.isPropertyAccessExpression(n) && isOps(n.expression)) named.add(n.name.text);
      if (ts.isElementAccessExpression(n) && isOps(n.expression)) indexesOps = true;
      if (ts.isVariableDeclaration(n)) keysOfRecordTable(n).forEach((k) => tableKeys.add(k));
      if (ts.isIdentifier(n) && topLevel.has(n.text) && !seen.has(n.text)) {
        seen.add(n.text);
        scope.push(topLevel.get(n.text)!);
      }
      ts.forEachChild(n, walk);
    };
    for (let i = 0; i < scope.length; i++) walk(scope[i]!);
    if (!callsGradcheck) return new Set();
    return new Set([...named, ...(indexesOps ? tableKeys : [])]);
  };

  const blocks = new Map<string, Set<string>[]>();
  const visit = (n: ts.Node): void => {
    if (ts.isCallExpression(n) && ts.isIdentifier(n.expression) && (n.expression.text === 'describe' || n.expression.text === 'it')) {
      const [title, body] = n.arguments;
      if (title && body && ts.isStringLiteralLike(title)) blocks.set(title.text, [...(blocks.get(title.text) ?? []), checkedIn(body)]);
    }
    ts.forEachChild(n, visit);
  };
  visit(source);
  return blocks;
}

describe('gradient coverage of every export of src/ops', () => {
  it('has an entry for each op exported at run time', () => {
    expect(Object.keys(GRADIENT_TESTED).sort()).toEqual(Object.keys(ops).sort());
  });

  it('names, for each op it calls tested, a block of that file that gradchecks the op', () => {
    const files = new Map<string, Map<string, Set<string>[]>>();
    const problems: string[] = [];
    for (const [op, coverage] of tableRows(GRADIENT_TESTED)) {
      if (typeof coverage !== 'string') continue;
      const at = coverage.indexOf(': ');
      const file = coverage.slice(0, at) as GradTestFile, title = coverage.slice(at + 2);
      if (!files.has(file)) files.set(file, gradcheckedOps(file));
      const blocks = files.get(file)!.get(title) ?? [];
      if (blocks.length !== 1) problems.push(`${op}: ${blocks.length} blocks titled '${title}' in ${file}, expected one`);
      else if (!blocks[0]!.has(op)) problems.push(`${op}: the block '${title}' of ${file} does not gradcheck ops.${op}`);
    }
    expect(problems).toEqual([]);
  });

  it('gives each exempt op a reason, and its result really is off the tape', () => {
    for (const [op, probe] of tableRows(noGradientProbes)) {
      expect(GRADIENT_TESTED[op].noGradient.length, op).toBeGreaterThan(20);
      const x = tensor([-1, 0.5, 2], { shape: [3], dtype: 'float64', requiresGrad: true });
      const y = probe(x);
      expect({ requiresGrad: y.requiresGrad, onTape: y.gradFn !== null }, op).toEqual({ requiresGrad: false, onTape: false });
    }
  });
});
