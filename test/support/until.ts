/**
 * until: polls a condition on state that has no event of its own (a lock table's queue, a
 * home's lock list) until it holds, or fails after `deadlineMs`. Use an event when there is one.
 */
export async function until(condition: () => boolean | Promise<boolean>, deadlineMs = 5000, what = "condition"): Promise<void> {
  const end = Date.now() + deadlineMs;
  while (!(await condition())) {
    if (Date.now() > end) throw new Error(`${what} not reached within ${deadlineMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 2));
  }
}
