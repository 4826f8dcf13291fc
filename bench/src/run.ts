// `npm run bench`: runs every scenario in sequence (each prints its table and writes bench/results/*.json).
import { runVersionListing } from './version-listing.bench';

async function main(): Promise<void> {
  let failed = false;
  for (const [name, scenario] of [['version-listing', runVersionListing]] as const) {
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
