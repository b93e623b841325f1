/**
 * within: a promise bounded in time — it settles as `promise` does, or rejects with
 * `new Error(message)` after `ms`. The work behind `promise` is not cancelled (a connect
 * that is still opening finishes and is cached); use it where a caller must not wait
 * longer than a short bound (a probe, a call to a name server that may be stopped).
 */
export function within<T>(promise: Promise<T>, ms: number, message = `no answer within ${ms} ms`): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(message)), ms);
    promise.then(
      (v) => {
        clearTimeout(timer);
        resolve(v);
      },
      (err: unknown) => {
        clearTimeout(timer);
        reject(err);
      },
    );
  });
}
