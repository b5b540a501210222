/**
 * /docs (Swagger UI) and /redoc open in a real headless browser (Debian's
 * chromium through playwright-core) and render every operation's summary.
 * Screenshots go to $ARTIFACTS_DIR (default reports/docs) for CI to keep.
 * Without chromium the test is skipped locally, but fails under CI=true:
 * `.ci/run` installs chromium, so its absence there is a broken CI.
 */
import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { expect } from 'chai';
import { chromium } from 'playwright-core';
import type { BrowserContext } from 'playwright-core';
import { loadSpec } from '../../src/contract/spec.js';
import { startApp } from '../helpers/app.js';
import type { TestApp } from '../helpers/app.js';

const CHROMIUM = '/usr/bin/chromium';
/** The page's text, read inside the browser (this project's tsconfig has no DOM types). */
const pageText = (): string =>
  (globalThis as unknown as { document: { body: { innerText: string } } }).document.body.innerText;
const root = path.resolve(import.meta.dirname, '../..');
const artifacts = path.resolve(process.env['ARTIFACTS_DIR'] ?? path.join(root, 'reports'), 'docs');
const ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-background-networking',
  '--disable-quic',
  '--no-first-run',
  '--disable-component-update',
  '--disable-sync',
];

describe('docs pages in a real browser', function () {
  this.timeout(120_000);
  let t: TestApp;
  let context: BrowserContext;
  let profile: string;
  const summaries = loadSpec().operations.map((op) => ({ id: op.operationId, summary: op.summary ?? '' }));

  before(async function () {
    if (!existsSync(CHROMIUM)) {
      if (process.env['CI'] !== undefined && process.env['CI'] !== '') {
        throw new Error(`${CHROMIUM} is missing: .ci/run installs it (apt-get install -y chromium)`);
      }
      console.log(`    (skipped: ${CHROMIUM} is not installed; apt-get install -y chromium)`);
      this.skip();
    }
    t = await startApp();
    mkdirSync(artifacts, { recursive: true });
    profile = mkdtempSync(path.join(tmpdir(), 'chromium-profile-'));
    context = await chromium.launchPersistentContext(profile, {
      executablePath: CHROMIUM,
      headless: true,
      args: ARGS,
      viewport: { width: 1280, height: 900 },
    });
  });
  after(async () => {
    await context?.close();
    await t?.close();
    if (profile !== undefined) rmSync(profile, { recursive: true, force: true });
  });

  async function rendered(url: string, shot: string): Promise<string[]> {
    const page = await context.newPage();
    try {
      await page.goto(url, { waitUntil: 'load' });
      const last = summaries.at(-1)?.summary ?? '';
      await page.waitForFunction(
        (text) =>
          (
            globalThis as unknown as { document: { body: { innerText: string } } }
          ).document.body.innerText.includes(text),
        last,
        { timeout: 60_000 },
      );
      await page.screenshot({ path: path.join(artifacts, shot), fullPage: true });
      const text = await page.evaluate(pageText);
      return summaries.filter((s) => !text.includes(s.summary)).map((s) => `${s.id}: ${s.summary}`);
    } finally {
      await page.close();
    }
  }

  it('Swagger UI at /docs shows every operation summary', async () => {
    expect(await rendered(`${t.url}/docs`, 'swagger-ui.png')).to.deep.equal([]);
    expect(existsSync(path.join(artifacts, 'swagger-ui.png'))).to.equal(true);
  });

  it('Redoc at /redoc shows every operation summary', async () => {
    expect(await rendered(`${t.url}/redoc`, 'redoc.png')).to.deep.equal([]);
    expect(existsSync(path.join(artifacts, 'redoc.png'))).to.equal(true);
  });
});
