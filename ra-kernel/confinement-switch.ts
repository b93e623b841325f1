/**
 * The one switch of object code confinement (hardened-realm.ts): on, unless a compute
 * server's environment has CLOUDS_UNCONFINED_OBJECT_CODE=1, which `npm run bench` sets on
 * one cluster to measure what the boundary costs. Apart from hardened-realm.ts so the
 * compute server can read it without loading SES into its own realm.
 */
export function objectCodeConfined(env: NodeJS.ProcessEnv = process.env): boolean {
  return env.CLOUDS_UNCONFINED_OBJECT_CODE !== "1";
}
