/**
 * The child of NetnsClient: a typed client of the cluster in `argv[2]`, answering one JSON
 * line per request on stdin with one on stdout, and forwarding thread output as {print}.
 */
import { createInterface } from "node:readline";
import { connect, type Cluster } from "../../shell/client/cluster.js";
import { sysnameOfRemote } from "../../shell/client/remote.js";

interface Request {
  id: number;
  op: "load" | "create" | "invoke";
  args: unknown[];
}

function send(msg: unknown): void {
  process.stdout.write(JSON.stringify(msg) + "\n");
}

async function serve(cluster: Cluster, req: Request): Promise<unknown> {
  switch (req.op) {
    case "load": return (await cluster.load(req.args[0] as string)).map((c) => c.name);
    case "create": {
      await cluster.create(req.args[0] as string, req.args[1] as string);
      return null;
    }
    case "invoke": {
      const [name, entry, args, at] = req.args as [string, string, unknown[], string | undefined];
      const sysname = sysnameOfRemote(await cluster.bind(name))!;
      return cluster.invoke(sysname, entry, args, { at });
    }
  }
}

async function main(): Promise<void> {
  const cluster = await connect({ dir: process.argv[2], onPrint: (_thread, text) => send({ print: text.trim() }) });
  const lines = createInterface({ input: process.stdin });
  lines.on("line", (line) => {
    const req = JSON.parse(line) as Request;
    serve(cluster, req).then(
      (value) => send({ id: req.id, ok: true, value: value ?? null }),
      (err: Error) => send({ id: req.id, ok: false, error: { name: err.name, message: err.message } }),
    );
  });
  lines.on("close", () => void cluster.close().finally(() => process.exit(0)));
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
