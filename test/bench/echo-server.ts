/**
 * Child process of the benchmarks: a bare SocketIoTransport server that answers every request
 * with its own body — the floor an invocation's round trip is compared with.
 *
 * Usage: fork("dist/test/bench/echo-server.js", [TOKEN]) with an IPC channel. Listens on
 * 127.0.0.1, port 0, and sends `{ address }` (or `{ error }`) to the parent over IPC.
 * Exits when the parent disconnects the channel or dies, so it never outlives a benchmark.
 */
import { LamportClock } from "../../ra-kernel/lamport-clock.js";
import { SocketIoTransport } from "../../servers/transport/socket-io-transport.js";

/** What the child reports over IPC once it listens (or fails to). */
export type EchoServerReady = { address: string } | { error: string };

async function main(token: string): Promise<void> {
  const transport = new SocketIoTransport(new LamportClock(), "echo");
  const server = await transport.listen({ host: "127.0.0.1", port: 0, token }, (_kind, body) => body);
  process.once("disconnect", () => void server.close().finally(() => process.exit(0)));
  process.send!({ address: server.address } satisfies EchoServerReady);
}

if (require.main === module) {
  if (!process.send || !process.argv[2]) {
    console.error("echo-server: run me with fork(path, [token]) (needs an IPC channel and a token)");
    process.exit(2);
  }
  main(process.argv[2]).catch((err: Error) => {
    process.send!({ error: err.message } satisfies EchoServerReady);
    process.exit(1);
  });
}
