import { existsSync } from 'node:fs';
import { chromium, type Browser } from 'playwright-core';

// Debian's Chromium driven by playwright-core (no browser is downloaded). ONESTEP_CHROMIUM names
// another executable. Flags: --no-sandbox (CI runs as root); WebGPU on SwiftShader's fallback
// adapter needs the two "unsafe" switches.

const CANDIDATES = ['/usr/bin/chromium', '/usr/bin/chromium-browser', '/usr/bin/chromium-headless-shell', '/usr/lib/chromium/chromium'];

export function chromiumPath(): string {
  const forced = process.env.ONESTEP_CHROMIUM;
  if (forced) {
    if (!existsSync(forced)) throw new Error(`ONESTEP_CHROMIUM=${forced}: no such file.`);
    return forced;
  }
  const found = CANDIDATES.find((p) => existsSync(p));
  if (!found) {
    throw new Error(
      `The browser tests need Chromium and found none (looked at ${CANDIDATES.join(', ')}). ` +
        'Install it: sudo apt-get install chromium (Debian/Ubuntu), or set ONESTEP_CHROMIUM to a Chromium executable.',
    );
  }
  return found;
}

export const launchChromium = (): Promise<Browser> =>
  chromium.launch({ executablePath: chromiumPath(), args: ['--no-sandbox', '--enable-unsafe-webgpu', '--enable-unsafe-swiftshader'] });
