/**
 * `npm run torture [-- --duration S --seed N --clients N --objects N --kill-every S --down S --max-active N --cache-mb M]`:
 * builds, then runs the crash-consistency torture (torture.ts) once and prints its report.
 * Exit code 1 if it found any violation (or could not run), 0 otherwise. Ctrl-C stops the
 * cluster it started before exiting.
 */
import { runTorture } from "./torture.js";
import { formatReport } from "./torture-report.js";
import { parseTortureArgs } from "./torture-options.js";
import { TortureCluster } from "./torture-cluster.js";

process.once("SIGINT", () => {
  console.error("interrupted: stopping the cluster");
  void TortureCluster.stopAll().finally(() => process.exit(130));
});

async function main(): Promise<number> {
  const options = { ...parseTortureArgs(process.argv.slice(2)), log: (line: string) => console.log(line) };
  const result = await runTorture(options);
  console.log(formatReport(result).join("\n"));
  return result.violations.length === 0 ? 0 : 1;
}

main().then(
  (code) => process.exit(code),
  (err) => {
    console.error(`torture could not run: ${(err as Error).stack ?? String(err)}`);
    process.exit(1);
  },
);
