import { spawnSync } from 'node:child_process';
import { readdirSync, readFileSync, statSync, existsSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';

const root = resolve(import.meta.dirname, '..');

function walk(dir: string, out: string[] = []): string[] {
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) walk(p, out);
    else if (p.endsWith('.ts') && !p.endsWith('.d.ts')) out.push(p);
  }
  return out;
}

/** Whether an import/export declaration is erased when compiled (`import type`, or every name `type`). */
function typeOnly(d: ts.ImportDeclaration | ts.ExportDeclaration): boolean {
  if (ts.isImportDeclaration(d)) {
    const clause = d.importClause;
    if (!clause) return false; // import './x': a side effect, runs
    if (clause.isTypeOnly) return true;
    if (clause.name) return false;
    const b = clause.namedBindings;
    return !!b && ts.isNamedImports(b) && b.elements.length > 0 && b.elements.every((e) => e.isTypeOnly);
  }
  if (d.isTypeOnly) return true;
  const c = d.exportClause;
  return !!c && ts.isNamedExports(c) && c.elements.length > 0 && c.elements.every((e) => e.isTypeOnly);
}

/** The module graph of src/ and kernels/ through relative imports that stay at run time (or all of them, with types). */
function runtimeGraph(withTypes = false): Map<string, string[]> {
  const graph = new Map<string, string[]>();
  for (const file of [...walk(join(root, 'src')), ...walk(join(root, 'kernels'))]) {
    const sf = ts.createSourceFile(file, readFileSync(file, 'utf8'), ts.ScriptTarget.ES2022);
    const deps: string[] = [];
    for (const st of sf.statements) {
      if (!(ts.isImportDeclaration(st) || ts.isExportDeclaration(st)) || !st.moduleSpecifier) continue;
      const spec = (st.moduleSpecifier as ts.StringLiteral).text;
      if (!spec.startsWith('.') || (typeOnly(st) && !withTypes)) continue;
      const base = resolve(dirname(file), spec);
      const target = [base, `${base}.ts`, join(base, 'index.ts'), base.replace(/\.js$/, '.ts')].find((c) => existsSync(c) && statSync(c).isFile());
      if (target) deps.push(relative(root, target));
    }
    graph.set(relative(root, file), deps);
  }
  return graph;
}

/** Strongly connected components with more than one module (or a module importing itself), Tarjan. */
function cycles(graph: Map<string, string[]>): string[][] {
  let next = 0;
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const out: string[][] = [];
  const visit = (v: string): void => {
    index.set(v, next);
    low.set(v, next++);
    stack.push(v);
    onStack.add(v);
    for (const w of graph.get(v) ?? []) {
      if (!index.has(w)) {
        visit(w);
        low.set(v, Math.min(low.get(v)!, low.get(w)!));
      } else if (onStack.has(w)) low.set(v, Math.min(low.get(v)!, index.get(w)!));
    }
    if (low.get(v) === index.get(v)) {
      const scc: string[] = [];
      let w: string;
      do {
        w = stack.pop()!;
        onStack.delete(w);
        scc.push(w);
      } while (w !== v);
      if (scc.length > 1 || (graph.get(v) ?? []).includes(v)) out.push(scc.sort());
    }
  };
  for (const v of graph.keys()) if (!index.has(v)) visit(v);
  return out;
}

// Cycles known and accepted for now, each with why.
const KNOWN_CYCLES: { modules: string[]; reason: string }[] = [];

/** Modules whose exports are public API: reached from src/index.ts through `export * (as x) from`. */
function publicModules(): Set<string> {
  const seen = new Set<string>();
  const visit = (file: string): void => {
    if (seen.has(file)) return;
    seen.add(file);
    for (const m of readFileSync(join(root, file), 'utf8').matchAll(/^export \*(?: as \w+)? from '(\.[^']+)'/gm)) {
      const base = resolve(dirname(join(root, file)), m[1]!);
      const target = [`${base}.ts`, join(base, 'index.ts')].find((c) => existsSync(c));
      if (target) visit(relative(root, target));
    }
  };
  visit('src/index.ts');
  return seen;
}

describe('import graph of src/ and kernels/', () => {
  it('has no runtime import cycle besides the known ones', () => {
    const graph = runtimeGraph();
    expect(graph.get('src/tensor/tensor.ts')).toContain('src/ops/elementwise.ts'); // the walk sees value imports
    const found = cycles(graph).map((c) => c.join(' <-> '));
    const known = KNOWN_CYCLES.map((c) => [...c.modules].sort().join(' <-> '));
    expect(found.filter((c) => !known.includes(c))).toEqual([]);
    expect(known.filter((c) => !found.includes(c)), 'a known cycle is gone: remove it from KNOWN_CYCLES').toEqual([]);
  });

  it('has no cycle in src/cm, type-only imports included (a recipe never imports the Trainer)', () => {
    const graph = runtimeGraph(true);
    expect(graph.get('src/cm/trainer.ts')).toContain('src/cm/load.ts'); // the walk sees type-only imports
    expect(cycles(graph).filter((c) => c.some((m) => m.startsWith('src/cm/'))).map((c) => c.join(' <-> '))).toEqual([]);
  });

  it('compares no recipe name or parametrization outside the recipes and the parametrizations', () => {
    // src/cm/recipes/ (one file per recipe and the list), src/cm/parametrization.ts (the parametrizations' table)
    const names = ['ict', 'ect', 'seed', 'edm', 'cd', 'official', 'community'].join('|');
    const comparison = new RegExp(`[!=]==\\s*'(${names})'|'(${names})'\\s*[!=]==|case '(${names})'`);
    const found: string[] = [];
    for (const dir of ['src', 'examples']) {
      for (const file of walk(join(root, dir))) {
        const rel = relative(root, file);
        if (rel.startsWith('src/cm/recipes/') || rel === 'src/cm/parametrization.ts') continue;
        readFileSync(file, 'utf8').split('\n').forEach((line, i) => comparison.test(line) && found.push(`${rel}:${i + 1}: ${line.trim()}`));
      }
    }
    expect(found).toEqual([]);
  });

  it('does not count type-only imports', () => {
    const sf = ts.createSourceFile('x.ts', "import type { A } from './a';\nimport { type B } from './b';\nimport { C, type D } from './c';\nimport './d';", ts.ScriptTarget.ES2022);
    expect(sf.statements.map((s) => typeOnly(s as ts.ImportDeclaration))).toEqual([true, true, false, false]);
  });

  it('gives tensors their methods whichever module is imported first', () => {
    // A fresh process, so nothing else (src/ops/index.ts, src/index.ts) is loaded before.
    const url = (p: string) => pathToFileURL(join(root, p)).href;
    const code = [
      `await import(${JSON.stringify(url('src/ops/elementwise.ts'))});`,
      `const { tensor } = await import(${JSON.stringify(url('src/tensor/create.ts'))});`,
      'console.log(tensor([1, 2]).add(1).sum().item());',
    ].join('\n');
    const r = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', code], { cwd: root, encoding: 'utf8', timeout: 60_000 });
    expect(r.stderr).toBe('');
    expect(r.stdout.trim()).toBe('5');
    expect(r.status).toBe(0);
  });
});

describe('exports of src/ and kernels/', () => {
  it('are each used by another module or public API', () => {
    const mentions = (name: string) => new RegExp(`\\b${name}\\b`);
    const texts = new Map<string, string>();
    for (const dir of ['src', 'kernels', 'test', 'bench', 'examples']) {
      for (const f of walk(join(root, dir))) texts.set(relative(root, f), readFileSync(f, 'utf8'));
    }
    const pub = publicModules();
    const unused: string[] = [];
    for (const [file, text] of texts) {
      if (!/^(src|kernels)\//.test(file) || pub.has(file)) continue;
      for (const m of text.matchAll(/^export (?:declare )?(?:abstract )?(?:async )?(const|let|function|class|interface|type|enum) (\w+)/gm)) {
        const [, kind, name] = m as unknown as [string, string, string];
        const elsewhere = [...texts].some(([other, t]) => other !== file && mentions(name).test(t));
        // A type may be exported to name it in the module's own exported signatures.
        const typeUsedHere = (kind === 'interface' || kind === 'type') && (text.match(new RegExp(`\\b${name}\\b`, 'g'))?.length ?? 0) > 1;
        if (!elsewhere && !typeUsedHere) unused.push(`${file}: ${name}`);
      }
    }
    expect(unused).toEqual([]);
  });
});

/**
 * Modules reachable at run time from `entry`, '#platform' resolved as a bundler does under the
 * "browser" condition when `browser` is set; with each module's non-relative imports.
 */
function reachable(entry: string, browser: boolean): Map<string, string[]> {
  const found = new Map<string, string[]>();
  const visit = (file: string): void => {
    if (found.has(file)) return;
    const sf = ts.createSourceFile(file, readFileSync(join(root, file), 'utf8'), ts.ScriptTarget.ES2022);
    const external: string[] = [];
    found.set(file, external);
    for (const st of sf.statements) {
      if (!(ts.isImportDeclaration(st) || ts.isExportDeclaration(st)) || !st.moduleSpecifier || typeOnly(st)) continue;
      const spec = (st.moduleSpecifier as ts.StringLiteral).text;
      if (spec === '#platform') visit(browser ? 'src/platform/browser.ts' : 'src/platform/node.ts');
      else if (spec.startsWith('.')) {
        const base = resolve(dirname(join(root, file)), spec);
        const target = [`${base}.ts`, join(base, 'index.ts')].find((c) => existsSync(c));
        if (target) visit(relative(root, target));
      } else external.push(spec);
    }
  };
  visit(entry);
  return found;
}

/** What of `modules` needs Node: imports of packages other than `allowed`, and Node's globals. */
function nodeUses(modules: Map<string, string[]>, allowed: string[] = []): string[] {
  const nodeOnly: string[] = [];
  for (const [file, external] of modules) {
    for (const spec of external) if (!allowed.includes(spec)) nodeOnly.push(`${file} imports '${spec}'`);
    const code = readFileSync(join(root, file), 'utf8').replace(/\/\*[\s\S]*?\*\/|\/\/.*$/gm, '');
    for (const use of [/(?<![\w.])process\.\w/, /(?<![\w.])Buffer\.\w/, /(?<![\w.])setImmediate\(/, /(?<![\w.])require\(/, /\b__dirname\b/]) {
      if (use.test(code)) nodeOnly.push(`${file} uses ${use.source}`);
    }
  }
  return nodeOnly;
}

describe('the browser entry (src/web.ts)', () => {
  const modules = reachable('src/web.ts', true);

  it('reaches no Node module, package or global; nor does the webgpu device worker, besides gpu.js', () => {
    expect(modules.size).toBeGreaterThan(50);
    expect(modules.has('src/platform/browser.ts')).toBe(true);
    expect(nodeUses(modules)).toEqual([]);
    const worker = reachable('kernels/gpujs/worker.ts', true);
    expect(worker.has('kernels/gpujs/stream.ts')).toBe(true);
    expect(nodeUses(worker, ['gpu.js'])).toEqual([]);
  });

  it('is found by the same walk from the Node entry, which does reach Node', () => {
    const node = reachable('src/index.ts', false);
    for (const file of modules.keys()) if (file !== 'src/web.ts' && file !== 'src/platform/browser.ts') expect(node.has(file), file).toBe(true);
    expect([...node.values()].flat()).toContain('node:fs');
  });
});
