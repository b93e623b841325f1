/**
 * freePort: a TCP port on 127.0.0.1 that was free a moment ago (bound to port 0, then
 * released). Good for "nothing listens there" tests; racy as a port to listen on later.
 */
import { createServer } from "node:net";

export async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(0, "127.0.0.1", resolve);
  });
  const { port } = server.address() as { port: number };
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}
