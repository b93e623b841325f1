/**
 * expectRejection: awaits a promise that must reject with an instance of `cls` and returns
 * the error, so a test can also check its fields. chai has no promise assertions of its own.
 */
import { expect } from "chai";

export async function expectRejection<E extends Error>(promise: Promise<unknown>, cls: abstract new (...args: any[]) => E): Promise<E> {
  let outcome: unknown;
  try {
    outcome = await promise;
  } catch (err) {
    expect(err, `expected ${cls.name}, got ${String(err)}`).to.be.instanceOf(cls);
    return err as E;
  }
  expect.fail(`expected a rejection with ${cls.name}, got ${JSON.stringify(outcome)}`);
}
