/**
 * Registration over the in-memory transport: it renews its lease while the process runs,
 * registers again when the name server lost its lease (restart) and stops renewing on stop.
 */
import { expect } from "chai";
import type { ServerId } from "../../../ra-kernel/ids.js";
import { Registration } from "../../../servers/host/registration.js";
import type { ServerInfo } from "../../../servers/name/protocol.js";
import { InMemoryBus } from "../../../servers/transport/in-memory-transport.js";
import { MemoryNameServer } from "../../support/memory-name-server.js";
import { until } from "../../support/until.js";

describe("Registration", () => {
  let ns: MemoryNameServer;
  let registration: Registration;
  let info: ServerInfo;

  beforeEach(async () => {
    ns = await MemoryNameServer.start(new InMemoryBus(), { leaseMs: 200, sweepMs: 10 });
    info = { id: "cs1" as ServerId, role: "compute", address: "mem:cs1:1", httpAddress: "mem:cs1:1", pid: 42 };
    registration = new Registration(ns.peerCache("cs1"), ns.address, info, { renewMs: 20 });
  });

  afterEach(async () => {
    registration.stop();
    await ns.close();
  });

  const renewals = () => registration.figures().name_lease_renewals_total;
  const registrations = () => registration.figures().name_registrations_total;

  it("should register once and keep its lease renewed", async () => {
    await registration.start();
    expect(ns.name.registry.stateOf("cs1").state).to.equal("up");
    await until(() => renewals() >= 5, 5000, "five renewals");
    expect(registrations()).to.equal(1);
    expect(ns.name.registry.stateOf("cs1").state).to.equal("up");
  });

  it("should let its lease run out once stopped, and the view show it down", async () => {
    await registration.start();
    registration.stop();
    const down = new Promise<string>((resolve) => ns.name.registry.onTransition((id, state) => state === "down" && resolve(id)));
    expect(await down).to.equal("cs1");
    expect(ns.name.registry.stateOf("cs1").reason).to.match(/lease ran out/);
  });

  it("should register again with a name server that restarted without its bindings", async () => {
    await registration.start();
    await ns.restart({ keepBindings: false });
    // The binding can be seen before the registration has processed its reply: wait for both.
    await until(async () => registrations() >= 2 && (await ns.directory.lookup("/sys/servers/cs1")) !== null, 5000, "registered again");
    expect(registrations()).to.equal(2);
    await until(() => renewals() >= 1 && ns.name.registry.stateOf("cs1").reason === "lease running", 5000, "renewed after the restart");
  });

  it("should register again when a renewal is refused (the name server kept bindings but lost leases)", async () => {
    await registration.start();
    await ns.restart({ keepBindings: true });
    await until(() => registrations() === 2, 5000, "registered again");
    expect(ns.name.registry.stateOf("cs1")).to.deep.equal({ state: "up", reason: "lease running" });
  });

  it("should keep trying while the name server does not answer, and renew once it does", async () => {
    await registration.start();
    ns.pause();
    await until(() => ns.held >= 1, 5000, "a renewal held");
    ns.resume();
    const before = renewals();
    await until(() => renewals() > before + 2, 5000, "renewals after resume");
    expect(ns.name.registry.stateOf("cs1").state).to.equal("up");
  });

  it("should tell whether the name server answers its renewals: a lost connection says no, a slow answer nothing", async () => {
    const seen: boolean[] = [];
    registration.stop();
    registration = new Registration(ns.peerCache("cs1b"), ns.address, info, { renewMs: 20, requestTimeoutMs: 50, onNameServer: (answered) => seen.push(answered) });
    await registration.start();
    await until(() => seen.includes(true), 5000, "a renewal answered");
    ns.pause();
    await until(() => ns.held >= 2, 5000, "renewals held by a stalled name server");
    expect(seen, "slow is not gone").not.to.include(false);
    ns.resume();
    await ns.restart({ keepBindings: true });
    await until(() => seen[seen.length - 1] === true, 5000, "answered again");
  });
});
