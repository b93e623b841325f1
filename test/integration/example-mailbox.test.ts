/**
 * The Mailbox example (objects/examples/mailbox.ts) on a real cluster: several clients send
 * concurrently through both compute servers while others receive; nothing is lost or taken
 * twice, and each sender's messages come out in the order it sent them.
 */
import { expect } from "chai";
import * as path from "node:path";
import { TestCluster } from "../support/test-cluster.js";
import { REPO_ROOT } from "../support/compiled-examples.js";
import type { Mailbox } from "../../objects/examples/mailbox.js";

const MAILBOX = path.join(REPO_ROOT, "objects/examples/mailbox.ts");
const SENDERS = 4;
const EACH = 12;

interface Msg { from: number; seq: number }

describe("Mailbox example (integration, real processes)", function () {
  this.timeout(60_000);
  let cluster: TestCluster;

  before(async () => {
    cluster = await TestCluster.start();
  });

  after(async () => {
    await cluster?.stop();
  });

  it("should deliver every message once, in each sender's order, with senders and receivers on both compute servers", async () => {
    const [a, b] = [await cluster.connect(), await cluster.connect()];
    try {
      await a.load(MAILBOX);
      await a.create<Mailbox>("Mailbox", "Inbox");
      const refs = [await a.bind<Mailbox>("Inbox"), await b.bind<Mailbox>("Inbox")];
      const received: Msg[] = [];
      let sending = true;
      const senders = Array.from({ length: SENDERS }, async (_, from) => {
        const ref = refs[from % 2].at(from % 2 === 0 ? "cs1" : "cs2");
        for (let seq = 0; seq < EACH; seq++) await ref.send({ from, seq });
      });
      const receiver = (async () => {
        const ref = refs[1].at("cs2");
        while (sending) {
          const m = (await ref.receive()) as Msg | undefined;
          if (m) received.push(m);
        }
      })();
      await Promise.all(senders);
      sending = false;
      await receiver;
      received.push(...((await refs[0].at("cs1").drain()) as Msg[]));
      expect(received).to.have.length(SENDERS * EACH);
      for (let from = 0; from < SENDERS; from++) {
        expect(received.filter((m) => m.from === from).map((m) => m.seq)).to.deep.equal([...Array(EACH).keys()]);
      }
      expect(await refs[1].at("cs1").total()).to.equal(SENDERS * EACH);
      expect(await refs[0].at("cs2").receive()).to.equal(undefined);
    } finally {
      await a.close();
      await b.close();
    }
  });

  it("should work from the shell", async () => {
    expect((await cluster.exec("new Mailbox Box")).code).to.equal(0);
    expect((await cluster.exec('Box.send("hi")')).stdout).to.equal("1\n");
    expect((await cluster.exec("@cs2 Box.send(2)")).stdout).to.equal("2\n");
    expect((await cluster.exec("Box.receive()")).stdout).to.equal("'hi'\n");
    expect((await cluster.exec("@cs2 Box.drain()")).stdout).to.equal("[ 2 ]\n");
  });
});
