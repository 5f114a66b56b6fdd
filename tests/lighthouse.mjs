// Lighthouse on several pages in one Chromium, one page after another.
//
//   node tests/lighthouse.mjs OUT_DIR mobile|desktop CATEGORY,... URL...
//
// Writes OUT_DIR/0.json, OUT_DIR/1.json, ...: the full report of each URL, in order.
// Chromium is $CHROME_PATH. One browser for every page saves Lighthouse's start-up
// (Node loading Lighthouse, Chromium starting) on each of them; every run still
// clears the page's storage and cache first, as a separate run would.
import fs from 'node:fs';
import path from 'node:path';
import lighthouse from 'lighthouse';
import desktopConfig from 'lighthouse/core/config/desktop-config.js';
import * as chromeLauncher from 'chrome-launcher';

const [outDir, preset, categories, ...urls] = process.argv.slice(2);
if (!outDir || !['mobile', 'desktop'].includes(preset) || !categories || urls.length === 0) {
  console.error('usage: node lighthouse.mjs OUT_DIR mobile|desktop CATEGORY,... URL...');
  process.exit(2);
}

const chrome = await chromeLauncher.launch({
  chromePath: process.env.CHROME_PATH,
  chromeFlags: ['--headless=new', '--no-sandbox', '--disable-gpu'],
});
try {
  const flags = {
    port: chrome.port,
    output: 'json',
    logLevel: 'error',
    onlyCategories: categories.split(','),
    disableFullPageScreenshot: true,
  };
  for (const [index, url] of urls.entries()) {
    const result = await lighthouse(url, flags, preset === 'desktop' ? desktopConfig : undefined);
    if (!result || result.lhr.runtimeError) {
      throw new Error(`${url}: ${result ? result.lhr.runtimeError.message : 'no report'}`);
    }
    fs.writeFileSync(path.join(outDir, `${index}.json`), result.report);
  }
} finally {
  await chrome.kill();
}
