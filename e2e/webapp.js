// Real-browser check of the web app: node e2e/webapp.js URL PHOTO SHOTDIR
// Uploads PHOTO, waits for the findings, toggles a layer, asks a question,
// waits for the streamed answer, and fails (exit 1) on any page error, a
// hidden element shown, or a missing result. Screenshots go to SHOTDIR.
const puppeteer = require('puppeteer-core');

const [url, photo, shots] = process.argv.slice(2);
const chromium = process.env.CHROMIUM || '/usr/bin/chromium';

(async () => {
  const browser = await puppeteer.launch({executablePath: chromium, args: ['--no-sandbox', '--disable-gpu']});
  const errors = [];
  try {
    const page = await browser.newPage();
    page.on('pageerror', (e) => errors.push('page error: ' + e.message));
    page.on('response', (r) => {
      const u = new URL(r.url());
      if (r.status() >= 500 || (r.status() >= 400 && u.pathname.startsWith('/static/'))) errors.push(`HTTP ${r.status()} ${u.pathname}`);
    });
    for (const [w, h] of [[1280, 900], [900, 1000]]) {
      await page.setViewport({width: w, height: h});
      await page.goto(url, {waitUntil: 'networkidle0'});
      if (await page.$eval('#controls', (e) => e.offsetParent !== null)) errors.push(`${w}px: overlay controls visible before a photo`);
      const input = await page.$('#file');
      await input.uploadFile(photo);
      await page.waitForFunction(() => !document.querySelector('#findings').hidden && document.querySelector('#photo').naturalWidth > 0, {timeout: 60000});
      if (await page.$eval('#drop', (e) => e.offsetParent !== null)) errors.push(`${w}px: drop zone still shown over the photo`);
      const findings = await page.$eval('#findings-body', (e) => e.innerText);
      for (const want of ['Vertical CDR', 'Fractal dimension']) {
        if (!findings.includes(want)) errors.push(`${w}px: findings lack "${want}"`);
      }
      const before = await page.$eval('#photo', (e) => e.src);
      await page.click('input[name=layer][value=zones]'); // a new overlay image replaces the old one
      await page.waitForFunction((b) => document.querySelector('#photo').src !== b, {timeout: 20000}, before);
      await page.type('#question', 'what is the cup to disc ratio?');
      await page.click('#send');
      await page.waitForFunction(() => {
        const m = document.querySelectorAll('#messages li');
        return m.length >= 2 && /cup-to-disc ratio is \d/.test(m[m.length - 1].innerText);
      }, {timeout: 30000});
      await page.screenshot({path: `${shots}/webapp-${w}.png`});
    }
  } catch (e) {
    errors.push(String(e));
  } finally {
    await browser.close();
  }
  if (errors.length) {
    console.error(errors.join('\n'));
    process.exit(1);
  }
  console.log('web app ok');
})();
