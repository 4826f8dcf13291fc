// `npm run bench`: runs every scenario in sequence (each prints its table and writes bench/results/*.json).
// `npm run bench -- file-sync file-serve` runs only the named ones.
import { runVersionListing } from './version-listing.bench';
import { runFileSync } from './file-sync.bench';
import { runFileServe } from './file-serve.bench';
import { runImportExport } from './import-export.bench';

const SCENARIOS: Array<[string, () => Promise<{ ok: boolean }>]> = [
  ['version-listing', runVersionListing],
  ['file-sync', runFileSync],
  ['file-serve', runFileServe],
  ['import-export', runImportExport],
];

async function main(): Promise<void> {
  const wanted = process.argv.slice(2);
  const unknown = wanted.filter((w) => !SCENARIOS.some(([n]) => n === w));
  if (unknown.length) throw new Error(`unknown scenario(s) ${unknown.join(', ')}; known: ${SCENARIOS.map(([n]) => n).join(', ')}`);
  let failed = false;
  for (const [name, scenario] of SCENARIOS) {
    if (wanted.length && !wanted.includes(name)) continue;
    process.stdout.write(`\n== ${name} ==\n`);
    const r = await scenario();
    if (!r.ok) failed = true;
  }
  // Targets missed are reported, not fatal for CI: benchmarks are not tests.
  process.exitCode = failed ? 2 : 0;
}

main().catch((e) => {
  process.stderr.write(`${(e as Error)?.stack ?? String(e)}\n`);
  process.exit(1);
});
