import { expect } from "chai";
import { entry, entriesOf, type EntryMeta } from "../../objects/entry.js";

class Account {
  balance = 0;

  @entry deposit(n: number): void {
    this.balance += n;
  }

  @entry({ exclusive: true }) withdraw(n: number): void {
    this.balance -= n;
  }

  @entry({}) peek(): number {
    return this.balance;
  }

  audit(): void {}
}

class Savings extends Account {
  @entry addInterest(): void {}

  @entry({ exclusive: true }) override deposit(n: number): void {
    super.deposit(n);
  }
}

class Empty {}

function summary(ctor: object): [string, boolean][] {
  return [...entriesOf(ctor).values()].map((e: EntryMeta) => [e.name, e.exclusive]);
}

describe("entry", () => {
  it("should record decorated methods with their names and exclusive flags", () => {
    expect(summary(Account)).to.deep.equal([["deposit", false], ["withdraw", true], ["peek", false]]);
  });

  it("should leave undecorated methods out", () => {
    expect(entriesOf(Account).has("audit")).to.equal(false);
  });

  it("should give a subclass its parent's entries and its own, the subclass winning", () => {
    expect(summary(Savings)).to.deep.equal([["deposit", true], ["withdraw", true], ["peek", false], ["addInterest", false]]);
  });

  it("should not change the parent's entries when a subclass adds or overrides some", () => {
    expect(summary(Account)).to.deep.equal([["deposit", false], ["withdraw", true], ["peek", false]]);
  });

  it("should find no entries on a class without any", () => {
    expect(entriesOf(Empty).size).to.equal(0);
  });

  it("should keep the metadata out of the class's enumerable properties", () => {
    expect(Object.keys(Account)).to.deep.equal([]);
  });

  it("should refuse to decorate something that is not a method", () => {
    const proto = Empty.prototype;
    expect(() => entry(proto, "field", undefined as unknown as PropertyDescriptor)).to.throw(TypeError, /^@entry goes on a method; 'field' is not one$/);
    expect(() => entry(proto, "getter", { get: () => 1 })).to.throw(TypeError, /'getter' is not one/);
    expect(() => entry({ exclusive: true })(proto, Symbol("s"), { value: () => 1 })).to.throw(TypeError, /'Symbol\(s\)' is not one/);
    expect(entriesOf(Empty).size).to.equal(0);
  });

  // Regression (found and fixed): objects/entry.ts mark (line 37) takes `target.constructor` as the class. For a static
  // method the target is the class itself, so its `.constructor` is the global Function:
  // @entry on a static method is accepted, the entry is recorded on Function (polluting it)
  // and the method is not an entry of the class. Should throw "@entry goes on a method" (or
  // on an instance method) like any other misplaced @entry.
  it("should refuse to decorate a static method", () => {
    class WithStatic {
      static make(): void {}
    }
    const descriptor = Object.getOwnPropertyDescriptor(WithStatic, "make")!;
    expect(() => entry(WithStatic, "make", descriptor)).to.throw(TypeError, /'make'/);
    expect(Object.getOwnPropertySymbols(Function)).to.deep.equal([]);
  });
});
