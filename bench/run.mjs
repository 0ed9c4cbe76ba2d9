#!/usr/bin/env node
// labup's benchmark: generates a realistic day, then — in the same run, on the same machine — times
// and measures the peak RSS of labup against the native reference tools, best of 3 each, and prints
// the ratios. Results go to bench/results.json and docs/performance.md quotes them.
//
//   npm run bench                 # 250,000 hdata ≈ 1M rdata ≈ 280 MB Big5 XML
//   npm run bench -- --small      # 10,000 hdata, for a quick check
//   npm run bench -- --hdata N --runs 3 --keep
import { spawn, execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, totalmem, platform, release } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { generateDay, BENCH_DAY } from './generate.mjs';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const argv = process.argv.slice(2);
const flag = (n) => argv.includes(`--${n}`);
const opt = (n, d) => (argv.indexOf(`--${n}`) >= 0 ? argv[argv.indexOf(`--${n}`) + 1] : d);
const small = flag('small');
const hdata = Number(opt('hdata', small ? '10000' : '250000'));
const runs = Number(opt('runs', '3'));
const out = join(root, 'bench/out');
const bin = join(root, 'bin/labup.js');
mkdirSync(out, { recursive: true });

const log = (s) => process.stderr.write(s + '\n');
const env = { ...process.env, LABUP_NOW: BENCH_DAY.now, NO_COLOR: '1', LABUP_HOME: join(out, 'home') };

/** Runs a command; returns wall seconds and peak RSS (MB) sampled from /proc (VmHWM). */
function measure(cmd, args, { cwd = root, expectCodes = [0] } = {}) {
  return new Promise((resolve, reject) => {
    const t0 = process.hrtime.bigint();
    const child = spawn(cmd, args, { cwd, env, stdio: ['ignore', 'ignore', 'pipe'] });
    let peakKb = 0;
    let stderr = '';
    child.stderr.on('data', (d) => (stderr += d));
    const sample = () => {
      try {
        const m = /VmHWM:\s+(\d+)/.exec(readFileSync(`/proc/${child.pid}/status`, 'utf8'));
        if (m) peakKb = Math.max(peakKb, Number(m[1]));
      } catch {
        /* exited */
      }
    };
    const iv = setInterval(sample, 10);
    child.on('error', reject);
    child.on('exit', (code) => {
      clearInterval(iv);
      const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
      if (!expectCodes.includes(code ?? -1)) reject(new Error(`${cmd} ${args.join(' ')} exited ${code}: ${stderr.slice(0, 500)}`));
      else resolve({ seconds, peakRssMb: Math.round(peakKb / 1024) });
    });
  });
}

/** The machine's 1-minute load average, as each measurement starts (other work on it slows everything). */
const loads = [];

async function best(label, fn) {
  const results = [];
  for (let i = 0; i < runs; i++) {
    loads.push(loadavg()[0]);
    results.push(await fn());
    log(`  ${label} run ${i + 1}: ${results.at(-1).seconds.toFixed(2)} s, ${results.at(-1).peakRssMb} MB (load ${loads.at(-1).toFixed(1)})`);
  }
  return { seconds: Math.min(...results.map((r) => r.seconds)), peakRssMb: Math.max(...results.map((r) => r.peakRssMb)), all: results.map((r) => Number(r.seconds.toFixed(3))) };
}

function have(cmd) {
  try {
    execFileSync('sh', ['-c', `command -v ${cmd}`], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

async function ensureDay(n) {
  const xml = join(out, `day${n}.xml`);
  const csv = join(out, `day${n}.csv`);
  if (!existsSync(xml) || !existsSync(csv)) {
    log(`generating a day of ${n} hdata …`);
    await generateDay({ hdata: n, out });
  }
  const zipName = `DAY${n}.zip`;
  const zip = join(out, zipName);
  if (!existsSync(zip)) {
    execFileSync('sh', ['-c', `cd '${out}' && cp day${n}.xml DAY${n}.xml && zip -q -6 ${zipName} DAY${n}.xml && rm DAY${n}.xml`]);
  }
  const items = Number(execFileSync('sh', ['-c', `grep -c '<rdata>' '${xml}'`]).toString().trim());
  return { xml, csv, zip, items, bytes: statSync(xml).size };
}

for (const t of ['xmllint', 'zip', 'unzip']) if (!have(t)) throw new Error(`${t} is needed for the benchmark (apt-get install libxml2-utils zip unzip)`);
if (!existsSync(join(root, 'dist/cli/main.js'))) throw new Error('build first: npm run build');

const day = await ensureDay(hdata);
log(`day: ${hdata} hdata, ${day.items} rdata, ${(day.bytes / 1e6).toFixed(0)} MB Big5 XML`);
const labup = (...a) => ['--max-old-space-size=512', bin, ...a];
const validateArgs = ['--upload-date', BENCH_DAY.uploadDate, '--quiet'];

const r = {};
log('labup validate (XML)');
r.validateXml = await best('validate xml', () => measure('node', labup('validate', day.xml, ...validateArgs)));
log('labup validate (ZIP)');
r.validateZip = await best('validate zip', () => measure('node', labup('validate', day.zip, ...validateArgs)));
log('xmllint --stream --schema');
r.xmllint = await best('xmllint', () => measure('xmllint', ['--stream', '--noout', '--schema', join(root, 'schema/lab-daily.xsd'), day.xml]));

const packedDir = join(out, 'packed');
rmSync(packedDir, { recursive: true, force: true });
mkdirSync(packedDir, { recursive: true });
const packed = join(packedDir, 'TOTFA.zip');
log('labup pack (CSV → Big5 XML → ZIP)');
r.pack = await best('pack', () => {
  rmSync(packed, { force: true });
  return measure('node', labup('pack', day.csv, '--input-encoding', 'big5', '--out', packed, '--upload-time', '1151125200000', '--quiet'));
});
execFileSync('unzip', ['-o', '-q', packed, '-d', packedDir]);
log('zip -6 on the XML pack produced');
r.zip = await best('zip -6', () => {
  rmSync(join(packedDir, 'ZIPPED.zip'), { force: true });
  return measure('zip', ['-q', '-6', 'ZIPPED.zip', 'TOTFA.xml'], { cwd: packedDir });
});

if (!small || flag('growth')) {
  const ref = await ensureDay(Math.round(hdata / 10));
  log(`memory growth: validate on ${Math.round(hdata / 10)} hdata (${ref.items} rdata)`);
  r.validateSmall = await best('validate small', () => measure('node', labup('validate', ref.xml, ...validateArgs)));
  r.packSmall = await best('pack small', () => {
    rmSync(join(packedDir, 'SMALL.zip'), { force: true });
    return measure('node', labup('pack', ref.csv, '--input-encoding', 'big5', '--out', join(packedDir, 'SMALL.zip'), '--upload-time', '1151125200000', '--quiet'));
  });
  r.growthItems = ref.items;
}

log('sandbox processing of the upload');
r.sandbox = await best('sandbox', () => measure('node', [join(root, 'bench/sandbox-processing.mjs'), day.zip]));

const ratio = (a, b) => Number((a / b).toFixed(3));
const results = {
  items: day.items,
  hdata,
  bytes: day.bytes,
  machine: { cpus: cpus().length, cpu: cpus()[0]?.model, memoryGb: Math.round(totalmem() / 2 ** 30), os: `${platform()} ${release()}`, node: process.version, load: { min: Math.min(...loads), max: Math.max(...loads) } },
  runs: Object.fromEntries(Object.entries(r).filter(([, v]) => typeof v === 'object').map(([k, v]) => [k, { seconds: Number(v.seconds.toFixed(3)), peakRssMb: v.peakRssMb, all: v.all }])),
  ratios: {
    validateVsXmllint: ratio(r.validateXml.seconds, r.xmllint.seconds),
    validateZipVsXmllint: ratio(r.validateZip.seconds, r.xmllint.seconds),
    packVsZip: ratio(r.pack.seconds, r.zip.seconds),
    sandboxVsValidate: ratio(r.sandbox.seconds, r.validateXml.seconds),
  },
  peakRssMb: { validate: Math.max(r.validateXml.peakRssMb, r.validateZip.peakRssMb), pack: r.pack.peakRssMb },
  ...(r.validateSmall
    ? { growthMb: { fromItems: r.growthItems, toItems: day.items, validate: r.validateXml.peakRssMb - r.validateSmall.peakRssMb, pack: r.pack.peakRssMb - r.packSmall.peakRssMb } }
    : {}),
  targets: {},
};
results.targets = {
  'validate ≤ 1.0× xmllint': results.ratios.validateVsXmllint <= 1.0,
  'pack ≤ 1.3× zip -6': results.ratios.packVsZip <= 1.3,
  'peak RSS ≤ 200 MB': results.peakRssMb.validate <= 200 && results.peakRssMb.pack <= 200,
  ...(results.growthMb ? { 'RSS growth < 20 MB (10× items)': results.growthMb.validate < 20 && results.growthMb.pack < 20 } : {}),
  'sandbox ≤ 2× validate': results.ratios.sandboxVsValidate <= 2,
};
writeFileSync(join(root, 'bench/results.json'), JSON.stringify(results, null, 2) + '\n');

const row = (name, v) => `| ${name.padEnd(34)} | ${v.seconds.toFixed(2).padStart(7)} | ${String(v.peakRssMb).padStart(7)} |`;
console.log(`\nlabup benchmark — ${hdata} hdata, ${day.items} rdata, ${(day.bytes / 1e6).toFixed(0)} MB Big5 XML, best of ${runs}, load ${Math.min(...loads).toFixed(1)}–${Math.max(...loads).toFixed(1)}\n`);
console.log('| run                                |       s | peak MB |');
console.log('| ---------------------------------- | ------- | ------- |');
console.log(row('labup validate (XML)', r.validateXml));
console.log(row('labup validate (ZIP)', r.validateZip));
console.log(row('xmllint --stream --schema', r.xmllint));
console.log(row('labup pack (CSV → ZIP)', r.pack));
console.log(row('zip -6 (finished XML)', r.zip));
console.log(row('sandbox processing', r.sandbox));
if (r.validateSmall) console.log(row(`labup validate (${r.growthItems} rdata)`, r.validateSmall));
if (r.packSmall) console.log(row(`labup pack (${r.growthItems} rdata)`, r.packSmall));
console.log('');
for (const [k, v] of Object.entries(results.ratios)) console.log(`${k}: ${v}`);
if (results.growthMb) console.log(`RSS growth ${results.growthMb.fromItems} → ${results.growthMb.toItems} rdata: validate ${results.growthMb.validate} MB, pack ${results.growthMb.pack} MB`);
console.log('');
for (const [k, v] of Object.entries(results.targets)) console.log(`${v ? 'met   ' : 'MISSED'} ${k}`);
if (hdata < 250000) console.log(`(${hdata} hdata: Node's start-up, about 0.1–0.3 s a run, weighs on every labup figure; the targets are set for the full day of 250,000 hdata)`);
if (!flag('keep')) rmSync(join(out, 'home'), { recursive: true, force: true });
