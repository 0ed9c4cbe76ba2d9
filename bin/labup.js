#!/usr/bin/env node
// The only place that turns a result into a process exit status.
const major = Number(process.versions.node.split('.')[0]);
if (major < 20) {
  process.stderr.write(`labup needs Node.js 20 or newer (this is ${process.version}).\n`);
  process.exit(2);
}
// A reader that goes away (`labup … | head`) is not an error worth a stack trace.
for (const stream of [process.stdout, process.stderr]) {
  stream.on('error', (err) => {
    if (err && err.code === 'EPIPE') process.exit(process.exitCode ?? 0);
    throw err;
  });
}
let main;
try {
  ({ main } = await import('../dist/cli/main.js'));
} catch (err) {
  if (err && err.code === 'ERR_MODULE_NOT_FOUND' && String(err.message).includes('main.js')) {
    process.stderr.write('labup is not built yet: run `npm ci` (or `npm run build`) in the labup folder first.\n');
    process.exit(10);
  }
  throw err;
}
const code = await main(process.argv.slice(2));
// Let stdout drain (it may be a pipe), then leave even if a stray handle would keep the loop alive:
// a cron job must never hang after its work is done.
await new Promise((resolve) => process.stdout.write('', resolve));
process.exit(code);
