// Real-browser check of the web app: node e2e/webapp.js URL PHOTO SHOTDIR [MODE]
//
// MODE "full" (default; the server runs the real models): uploads PHOTO,
// waits for the findings, toggles a layer, asks about the cup-to-disc ratio
// and waits for the streamed answer and the disc's highlight on the image,
// then asks about zone B and waits for the zone's ring; at 1280 and 900 px.
//
// MODE "findings" (the server answers with a hand-made report that has
// lesions and diagnoses): checks the findings panel's diagnoses (label,
// probability, threshold, evidence, caveat, "not assessed") and that a
// question about haemorrhages draws every HE box.
//
// Fails (exit 1) on any page error, a hidden element shown, or a missing
// result. Screenshots go to SHOTDIR.
const {chromium: playwright} = require('playwright-core');

const [url, photo, shots, mode = 'full'] = process.argv.slice(2);
const chromium = process.env.CHROMIUM || '/usr/bin/chromium';

// lastAnswer waits for the n-th message to be a finished assistant answer
// matching re.
async function ask(page, question, re, n) {
  await page.fill('#question', question);
  await page.click('#send');
  await page.waitForFunction(([src, n]) => {
    const m = document.querySelectorAll('#messages li');
    return m.length >= n && !m[n - 1].hasAttribute('aria-busy') && new RegExp(src).test(m[n - 1].innerText);
  }, [re.source, n], {timeout: 30000});
}

// marks returns the highlight groups drawn over the photo.
function marks(page) {
  return page.$$eval('#marks g', (gs) => gs.map((g) => ({kind: g.dataset.kind, code: g.dataset.code, shapes: g.children.length})));
}

async function upload(page, errors, w) {
  if (await page.$eval('#controls', (e) => e.offsetParent !== null)) errors.push(`${w}px: overlay controls visible before a photo`);
  await page.setInputFiles('#file', photo);
  await page.waitForFunction(() => !document.querySelector('#findings').hidden && document.querySelector('#photo').naturalWidth > 0, null, {timeout: 60000});
  if (await page.$eval('#drop', (e) => e.offsetParent !== null)) errors.push(`${w}px: drop zone still shown over the photo`);
  return page.$eval('#findings-body', (e) => e.innerText);
}

async function full(page, errors) {
  for (const [w, h] of [[1280, 900], [900, 1000]]) {
    await page.setViewportSize({width: w, height: h});
    await page.goto(url, {waitUntil: 'networkidle'});
    const findings = await upload(page, errors, w);
    for (const want of ['Vertical CDR', 'Fractal dimension']) {
      if (!findings.includes(want)) errors.push(`${w}px: findings lack "${want}"`);
    }
    const before = await page.$eval('#photo', (e) => e.src);
    await page.click('input[name=layer][value=zones]'); // a new overlay image replaces the old one
    await page.waitForFunction((b) => document.querySelector('#photo').src !== b, before, {timeout: 20000});
    await page.click('input[name=layer][value=zones]'); // off again: the zone question turns it back on
    await ask(page, 'what is the cup to disc ratio?', /cup-to-disc ratio is \d/, 2);
    let m = await marks(page);
    if (!m.some((g) => g.kind === 'disc' && g.shapes === 1)) errors.push(`${w}px: no disc highlight after a disc question: ${JSON.stringify(m)}`);
    await page.screenshot({path: `${shots}/webapp-${w}.png`});
    await ask(page, 'what is the vessel density in zone B?', /zone B/i, 4);
    m = await marks(page);
    if (!m.some((g) => g.kind === 'zone' && g.code === 'B')) errors.push(`${w}px: no zone B highlight after a zone B question: ${JSON.stringify(m)}`);
    if (m.some((g) => g.kind === 'disc')) errors.push(`${w}px: the disc highlight of the previous answer is still drawn`);
    if (!(await page.$eval('input[name=layer][value=zones]', (c) => c.checked))) errors.push(`${w}px: the zones layer was not turned on`);
    await page.screenshot({path: `${shots}/webapp-${w}-zone.png`});
  }
}

async function findingsMode(page, errors) {
  await page.setViewportSize({width: 1280, height: 900});
  await page.goto(url, {waitUntil: 'networkidle'});
  const findings = await upload(page, errors, 1280);
  for (const want of ['Findings (screening aid)', 'diabetic retinopathy: moderate NPDR', 'positive', 'probability 0.70 · threshold 0.45',
    '3 haemorrhages in the inferior temporal quadrant', '[lesions]', 'glaucoma: absent', 'vertical cup-to-disc ratio 0.71',
    'Not assessed: cataract — the quality measures were not taken', 'Not a diagnosis: a screening aid', 'Lesions (experimental)']) {
    // innerText applies the headings' text-transform: compare ignoring case.
    if (!findings.toLowerCase().includes(want.toLowerCase())) errors.push(`findings lack "${want}"`);
  }
  await ask(page, 'how many haemorrhages are there?', /haemorrhage/i, 2);
  const want = await page.evaluate(async () => {
    const id = document.querySelector('#status').innerText.match(/Analysis (\w+)/)[1];
    const r = await (await fetch('/v1/analyses/' + id)).json();
    return r.lesions.types.find((t) => t.type === 'HE').boxes.length;
  });
  const m = await marks(page);
  const he = m.find((g) => g.kind === 'lesion' && g.code === 'HE');
  if (!he || he.shapes !== want) errors.push(`HE highlight: ${JSON.stringify(m)}, want ${want} boxes`);
  if (!(await page.$eval('input[name=layer][value=lesions]', (c) => c.checked))) errors.push('the lesions layer was not turned on');
  const cite = await page.$eval('#messages li:last-child', (e) => e.innerText);
  if (!cite.includes('Shown on the image: haemorrhages (HE)')) errors.push(`answer does not say what is shown: ${cite}`);
  await page.click('#clear-marks');
  if ((await marks(page)).length) errors.push('"Clear highlights" left highlights');
  await ask(page, 'how many haemorrhages are there?', /haemorrhage/i, 4);
  await page.screenshot({path: `${shots}/webapp-findings.png`, fullPage: true});
}

(async () => {
  const browser = await playwright.launch({executablePath: chromium, chromiumSandbox: false, args: ['--disable-gpu']});
  const errors = [];
  try {
    const page = await browser.newPage();
    page.on('pageerror', (e) => errors.push('page error: ' + e.message));
    page.on('console', (m) => { if (m.type() === 'error' && !/Failed to load resource/.test(m.text())) errors.push('console error: ' + m.text()); });
    page.on('response', (r) => {
      const u = new URL(r.url());
      if (r.status() >= 500 || (r.status() >= 400 && u.pathname.startsWith('/static/'))) errors.push(`HTTP ${r.status()} ${u.pathname}`);
    });
    if (mode === 'findings') await findingsMode(page, errors);
    else await full(page, errors);
  } catch (e) {
    errors.push(String(e));
  } finally {
    await browser.close();
  }
  if (errors.length) {
    console.error(errors.join('\n'));
    process.exit(1);
  }
  console.log(`web app ok (${mode})`);
})();
