/**
 * Tests of the shell line grammar (shell/line-parser.ts): every command, invocation
 * targets, hints and background, arguments, a table of malformed lines with their
 * messages and columns, and a fuzz test that nothing but LineSyntaxError ever escapes.
 */
import { expect } from "chai";
import { LineSyntaxError } from "../../shell/errors.js";
import { parseLine } from "../../shell/line-parser.js";
import type { Expr, ShellCommand } from "../../shell/shell-command.js";

const lit = (value: unknown): Expr => ({ kind: "literal", value });
const name = (path: string): Expr => ({ kind: "name", path });

/** The LineSyntaxError parsing `line` throws. */
function syntaxError(line: string): LineSyntaxError {
  try {
    parseLine(line);
  } catch (err) {
    expect(err, line).to.be.instanceOf(LineSyntaxError);
    return err as LineSyntaxError;
  }
  throw new Error(`expected a LineSyntaxError for ${JSON.stringify(line)}`);
}

/** A small deterministic PRNG (mulberry32), so a failing fuzz case can be replayed. */
function random(seed: number): () => number {
  let a = seed;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

describe("parseLine", () => {
  describe("empty lines", () => {
    for (const line of ["", "   ", "\t", "# a comment", "   # indented comment", "#RectA.area()", "\r\n", "// a comment", "  //RectA.area()"]) {
      it(`should read ${JSON.stringify(line)} as empty`, () => {
        expect(parseLine(line)).to.deep.equal({ kind: "empty" });
      });
    }
  });

  describe("trailing comments", () => {
    it("should drop a # or // comment after a space, as the README's tour and the examples' usage lines write them", () => {
      expect(parseLine("@cs2 RectA.area()          # the same object, run at cs2")).to.deep.equal({ kind: "invoke", target: "RectA", entry: "area", args: [], at: "cs2", background: false });
      expect(parseLine("Counter.add(2) // adds two")).to.deep.equal({ kind: "invoke", target: "Counter", entry: "add", args: [{ kind: "literal", value: 2 }], background: false });
      expect(parseLine("Counter.run(9) & # in the background")).to.include({ kind: "invoke", background: true });
      expect(parseLine("ls /sys # servers and classes")).to.deep.equal({ kind: "ls", path: "/sys" });
      expect(parseLine("new Rectangle R(1, 2) // a small one")).to.include({ kind: "new", name: "R" });
    });

    it("should keep # and // inside strings, and not take them for comments without a space before", () => {
      expect(parseLine("Box.put('a # b', \"c // d\", `e #f`) # real")).to.deep.equal({
        kind: "invoke", target: "Box", entry: "put", background: false,
        args: [{ kind: "literal", value: "a # b" }, { kind: "literal", value: "c // d" }, { kind: "literal", value: "e #f" }],
      });
      expect(parseLine("Box.put('it\\'s # here') # note")).to.deep.include({ args: [{ kind: "literal", value: "it's # here" }] });
      expect(() => parseLine("RectA.size(1)# note")).to.throw(/unexpected '#'/);
      expect(() => parseLine("RectA.size(1, # two\n)")).to.throw();
    });
  });

  describe("commands", () => {
    const cases: [string, ShellCommand][] = [
      ["load objects/examples/rectangle.ts", { kind: "load", file: "objects/examples/rectangle.ts" }],
      [`load "my classes/shape.ts"`, { kind: "load", file: "my classes/shape.ts" }],
      [`load 'it''s.ts'`.replace("''", "\\'"), { kind: "load", file: "it's.ts" }],
      ["load --check objects/examples/rectangle.ts", { kind: "load", file: "objects/examples/rectangle.ts", check: true }],
      [`load "a b.ts" --check`, { kind: "load", file: "a b.ts", check: true }],
      ["ls", { kind: "ls" }],
      ["ls /users/ana", { kind: "ls", path: "/users/ana" }],
      ["ls /", { kind: "ls", path: "/" }],
      ["ls ../dir/", { kind: "ls", path: "../dir/" }],
      ["cd /users/ana", { kind: "cd", path: "/users/ana" }],
      ["cd ..", { kind: "cd", path: ".." }],
      ["pwd", { kind: "pwd" }],
      ["mv RectA /users/ana/RectB", { kind: "mv", from: "RectA", to: "/users/ana/RectB" }],
      ["rm RectA", { kind: "rm", name: "RectA" }],
      ["rm --force /sys/servers/cs1", { kind: "rm", name: "/sys/servers/cs1", force: true }],
      ["rm /sys/classes/X --force", { kind: "rm", name: "/sys/classes/X", force: true }],
      ["info RectA", { kind: "info", name: "RectA" }],
      ["pages --all RectA", { kind: "pages", name: "RectA", all: true }],
      ["pages RectA --all", { kind: "pages", name: "RectA", all: true }],
      ["inspect ../RectA", { kind: "inspect", name: "../RectA" }],
      ["pages dir/RectA", { kind: "pages", name: "dir/RectA" }],
      ["threads", { kind: "threads" }],
      ["threads --all", { kind: "threads", all: true }],
      ["set deadline 5s", { kind: "set", deadlineMs: 5000 }],
      ["set deadline 250ms", { kind: "set", deadlineMs: 250 }],
      ["set deadline 1.5m", { kind: "set", deadlineMs: 90_000 }],
      ["set deadline off", { kind: "set", deadlineMs: null }],
      ["kill t:ws1:01JD5Z2Q8N7W3E5R6T7Y8U9I0P", { kind: "kill", id: "t:ws1:01JD5Z2Q8N7W3E5R6T7Y8U9I0P" }],
      ["kill 3", { kind: "kill", id: "3" }],
      ["trace t7", { kind: "trace", id: "t7" }],
      ["servers", { kind: "servers" }],
      ["help", { kind: "help" }],
      ["help mv", { kind: "help", command: "mv" }],
      ["help nosuch", { kind: "help", command: "nosuch" }],
      ["exit", { kind: "exit" }],
      ["quit", { kind: "exit" }],
      ["   ls\t /a   ", { kind: "ls", path: "/a" }],
    ];
    for (const [line, expected] of cases) {
      it(`should parse ${JSON.stringify(line)}`, () => {
        expect(parseLine(line)).to.deep.equal(expected);
      });
    }
  });

  describe("new", () => {
    it("should parse new without arguments", () => {
      expect(parseLine("new Rectangle RectA")).to.deep.equal({
        kind: "new", className: "Rectangle", name: "RectA", args: [],
      });
    });

    it("should parse new with arguments and a path", () => {
      expect(parseLine("new Rectangle /users/ana/RectA(5, 10)")).to.deep.equal({
        kind: "new", className: "Rectangle", name: "/users/ana/RectA", args: [lit(5), lit(10)],
      });
    });

    it("should allow spaces before the argument list and an empty one", () => {
      expect(parseLine("new  Rectangle   RectA  ( )  ")).to.deep.equal({
        kind: "new", className: "Rectangle", name: "RectA", args: [],
      });
    });

    it("should pass names and nested values to the constructor", () => {
      expect(parseLine(`new Group G([RectA, {main: RectB}], "g")`)).to.deep.equal({
        kind: "new", className: "Group", name: "G",
        args: [
          { kind: "array", items: [name("RectA"), { kind: "object", entries: [["main", name("RectB")]] }] },
          lit("g"),
        ],
      });
    });
  });

  describe("invocations", () => {
    it("should parse Name.entry() and Name.entry(args)", () => {
      expect(parseLine("RectA.area()")).to.deep.equal({
        kind: "invoke", target: "RectA", entry: "area", args: [], background: false,
      });
      expect(parseLine("RectA.size(5, 10)")).to.deep.equal({
        kind: "invoke", target: "RectA", entry: "size", args: [lit(5), lit(10)], background: false,
      });
    });

    const targets: [string, string, string][] = [
      ["/users/ana/RectA.area()", "/users/ana/RectA", "area"],
      ["../RectA.area()", "../RectA", "area"],
      ["./RectA.area()", "./RectA", "area"],
      ["dir/RectA.area()", "dir/RectA", "area"],
      ["a.b.c()", "a.b", "c"],
      ["my-obj_2.run$()", "my-obj_2", "run$"],
      ["v1.2/x.get()", "v1.2/x", "get"],
      ["ls.size()", "ls", "size"],
      ["new.size()", "new", "size"],
      ["RectA.area ()", "RectA", "area"],
    ];
    for (const [line, target, entry] of targets) {
      it(`should read ${line} as ${target} . ${entry}`, () => {
        const command = parseLine(line);
        expect(command).to.include({ kind: "invoke", target, entry });
      });
    }

    it("should take a location hint", () => {
      expect(parseLine("@cs2 RectA.area()")).to.deep.equal({
        kind: "invoke", target: "RectA", entry: "area", args: [], at: "cs2", background: false,
      });
      expect(parseLine("@cs_2-b   RectA.area()")).to.include({ at: "cs_2-b" });
    });

    it("should start a background thread with &", () => {
      expect(parseLine("Counter.run(1000) &")).to.deep.equal({
        kind: "invoke", target: "Counter", entry: "run", args: [lit(1000)], background: true,
      });
      expect(parseLine("Counter.run()&")).to.include({ background: true });
    });

    it("should combine hint, path and background", () => {
      expect(parseLine("  @cs1 /a/b.c.d([x], {k: ../y}) &  ")).to.deep.equal({
        kind: "invoke", target: "/a/b.c", entry: "d", at: "cs1", background: true,
        args: [{ kind: "array", items: [name("x")] }, { kind: "object", entries: [["k", name("../y")]] }],
      });
    });

    it("should not set at when there is no hint", () => {
      expect(parseLine("RectA.area()")).not.to.have.property("at");
    });

    it("should pass every literal form", () => {
      const command = parseLine(
        `X.f(1, -2.5e3, 0xff, 0b11, 0o7, 1_000, Infinity, -Infinity, 10n, -5n, 'a', "b\\n", \`c\`, ` +
        `true, false, null, undefined, new Date(0), [1, [2, "x"]], {a: 1, "b c": 2, 'd': [x]},)`,
      );
      expect(command.kind).to.equal("invoke");
      const args = (command as { args: Expr[] }).args;
      expect(args.slice(0, 17)).to.deep.equal([
        lit(1), lit(-2500), lit(255), lit(3), lit(7), lit(1000), lit(Infinity), lit(-Infinity),
        lit(10n), lit(-5n), lit("a"), lit("b\n"), lit("c"), lit(true), lit(false), lit(null), lit(undefined),
      ]);
      expect(args[17]).to.deep.equal(lit(new Date(0)));
      expect(args[18]).to.deep.equal({
        kind: "array", items: [lit(1), { kind: "array", items: [lit(2), lit("x")] }],
      });
      expect(args[19]).to.deep.equal({
        kind: "object",
        entries: [["a", lit(1)], ["b c", lit(2)], ["d", { kind: "array", items: [name("x")] }]],
      });
      expect(args).to.have.length(20);
    });

    it("should keep NaN", () => {
      const command = parseLine("X.f(NaN)") as { args: { value: unknown }[] };
      expect(Number.isNaN(command.args[0].value)).to.equal(true);
    });

    it("should keep argument text that looks like shell syntax inside strings", () => {
      expect(parseLine(`X.say("a) & # @cs2 ls")`)).to.deep.include({ args: [lit("a) & # @cs2 ls")] });
    });
  });

  describe("malformed lines", () => {
    const cases: [string, string, number][] = [
      ["lss", "unknown command 'lss' (try 'help')", 1],
      ["lss /users", "unknown command 'lss' (try 'help')", 1],
      ["LS", "unknown command 'LS' (try 'help')", 1],
      ["RectA", "unknown command 'RectA' (try 'help')", 1],
      ["  frobnicate now", "unknown command 'frobnicate' (try 'help')", 3],
      ["1+2", "unknown command '1+2' (try 'help')", 1],
      ['"x"', `unknown command '"x"' (try 'help')`, 1],
      ["RectA.area", "expected '(' after entry name 'area' at column 11", 11],
      ["RectA.area 5", "expected '(' after entry name 'area' at column 12", 12],
      ["RectA(1)", "expected '.' and an entry name after 'RectA' (invoke as Name.entry(args)) at column 6", 6],
      ["RectA.(1)", "expected an entry name after '.' at column 7", 7],
      [".area()", "expected an object name before '.area' at column 1", 1],
      ["RectA.2x()", "'2x' is not an entry name", 7],
      ["a$b.f()", "'a$b' is not a valid object name", 1],
      ["a//b.f()", "'a//b' is not a valid object name", 1],
      ["../.f()", "'../' is not a valid object name", 1],
      ["RectA.size(5, 10", "expected ')' to close the argument list at column 17", 17],
      ["RectA.size(5 10)", "expected ',' or ')' in the argument list, found '1' at column 14", 14],
      ["RectA.size(5,, 10)", "expected a value (a literal or an object name), found ','", 14],
      ["RectA.size(a + b)", "operators are not allowed in arguments: unexpected '+' at column 14", 14],
      ["RectA.size(g(1))", "calls are not allowed in arguments (only new Date(...)) at column 13", 13],
      ["RectA.size(...xs)", "spread '...' is not allowed in arguments at column 12", 12],
      ["RectA.size(1 /* two */)", "comments are not allowed in arguments at column 14", 14],
      ["RectA.size(1)# note", "unexpected '#' after the argument list (only '&' may follow) at column 14", 14],
      ["RectA.size(`${x}`)", "template interpolation '${' is not allowed in arguments at column 13", 13],
      ["RectA.size(/x+/)", "operators are not allowed in arguments: unexpected '+' at column 14", 14],
      ["RectA.size(new Foo())", "only new Date(...) is allowed in arguments, not new Foo at column 16", 16],
      ["RectA.size('abc)", "unterminated string (opened at column 12)", 17],
      ["RectA.size(1) 2", "unexpected '2' after the argument list (only '&' may follow) at column 15", 15],
      ["RectA.size(1) &&", "unexpected '&' after '&' (it must end the line) at column 16", 16],
      ["RectA.size(1) & x", "unexpected 'x' after '&' (it must end the line) at column 17", 17],
      ["RectA.size(1))", "unexpected ')' after the argument list", 14],
      ["RectA.size(" + "[".repeat(101) + "]".repeat(101) + ")", "nesting deeper than 100 levels at column 112", 112],
      ["@", "expected a server id after '@' (a lowercase letter, then a-z 0-9 _ -), found the end of the line at column 2", 2],
      ["@CS2 RectA.area()", "expected a server id after '@' (a lowercase letter, then a-z 0-9 _ -), found 'C' at column 2", 2],
      ["@2cs RectA.area()", "'@2cs' is not a server id", 1],
      ["@cs2", "expected Name.entry(args) after the location hint '@cs2' at column 5", 5],
      ["@cs2RectA.area()", "expected a space after the location hint '@cs2', found 'R' at column 5", 5],
      ["@cs2 RectA", "expected Name.entry(args) after the location hint '@cs2' at column 6", 6],
      ["@cs2 ls /", "a location hint applies only to Name.entry(args), not to 'ls' at column 6", 6],
      ["@cs2 new Rectangle R", "a location hint applies only to Name.entry(args), not to 'new'", 6],
      ["@cs2 @cs1 RectA.area()", "expected Name.entry(args) after the location hint '@cs2' at column 6", 6],
      ["load", "load needs one file (quote it if it has spaces): load [--check] FILE", 5],
      ["load --check", "load needs one file (quote it if it has spaces): load [--check] FILE", 13],
      ["load my file.ts", "load needs one file (quote it if it has spaces): load [--check] FILE (unexpected 'file.ts' at column 9)", 9],
      [`load ""`, "expected a file name at column 6", 6],
      [`load "a.ts`, "unterminated string (opened at column 6)", 11],
      [`load "a"b`, "expected a space after the quoted operand, found 'b' at column 9", 9],
      ["ls a b", "ls takes at most one path: ls [PATH] (unexpected 'b' at column 6)", 6],
      ["ls a//b", "'a//b' is not a valid path", 4],
      ["cd", "cd needs one path: cd PATH", 3],
      ["cd a b", "cd needs one path: cd PATH (unexpected 'b' at column 6)", 6],
      ["pwd /", "pwd takes no operands: pwd (unexpected '/' at column 5)", 5],
      ["mv", "mv needs two names: mv A B", 3],
      ["mv RectA", "mv needs two names: mv A B", 9],
      ["mv a b c", "mv needs two names: mv A B (unexpected 'c' at column 8)", 8],
      ["mv a 'b c'", "'b c' is not a valid path", 6],
      ["rm", "rm needs one name: rm [--force] NAME", 3],
      ["rm --force", "rm needs one name: rm [--force] NAME", 11],
      ["info", "info needs one name: info NAME", 5],
      ["inspect a b", "inspect needs one name: inspect [--depth N] NAME (unexpected 'b' at column 11)", 11],
      ["inspect --depth 99 a", "--depth needs a number of levels, 0 to 20, not '99'", 17],
      ["pages", "pages needs one name: pages [--all] NAME", 6],
      ["threads all", "expected --all, found 'all' at column 9", 9],
      ["threads --all x", "threads takes at most --all: threads [--all] (unexpected 'x' at column 15)", 15],
      ["kill", "kill needs one thread id: kill ID|%N", 5],
      ["set deadline", "set needs a setting and its value: set deadline DURATION|off", 13],
      ["set speed 5s", "unknown setting 'speed' (settings: deadline) at column 5", 5],
      ["set deadline soon", "'soon' is not a duration (e.g. 500ms, 5s, 2m, or off) at column 14", 14],
      ["kill a b", "kill needs one thread id: kill ID|%N (unexpected 'b' at column 8)", 8],
      ["kill t/1", "'t/1' is not a thread id at column 6", 6],
      ["trace", "trace needs one thread id: trace ID|%N", 6],
      ["servers x", "servers takes no operands: servers (unexpected 'x' at column 9)", 9],
      ["help a b", "help takes at most one command: help [CMD] (unexpected 'b' at column 8)", 8],
      ["exit now", "exit takes no operands: exit (unexpected 'now' at column 6)", 6],
      ["quit now", "quit takes no operands: exit (unexpected 'now' at column 6)", 6],
      ["new", "new needs a class and a name: new Class Name[(args)]", 4],
      ["new Rectangle", "new needs a class and a name: new Class Name[(args)]", 14],
      ["new 2D RectA", "'2D' is not a class name at column 5", 5],
      ["new (x) A", "expected a class name after 'new', found '(' at column 5", 5],
      ["new Shapes.Rect A", "expected a space after the class name 'Shapes', found '.' at column 11", 11],
      ["new Rectangle RectA B", "unexpected 'B' after the name 'RectA' (expected '(' or the end) at column 21", 21],
      ["new Rectangle RectA(1) &", "unexpected '&' after the argument list at column 24", 24],
      ["new Rectangle RectA(1", "expected ')' to close the argument list at column 22", 22],
      ["new Rectangle a$b", "'a$b' is not a valid object name (components use A-Z a-z 0-9 _ . -) at column 15", 15],
      ["new Rectangle (1)", "expected an object name after the class name, found '(' at column 15", 15],
      ["new Rectangle dir/", "'dir/' is not a valid object name", 15],
      ["RectA.f(\"a\nb\")", "a shell line cannot contain a line break at column 11", 11],
    ];
    for (const [line, message, column] of cases) {
      it(`should reject ${JSON.stringify(line.length > 60 ? line.slice(0, 57) + "..." : line)}`, () => {
        const err = syntaxError(line);
        expect(err.message).to.contain(message);
        expect(err.column, err.message).to.equal(column);
        expect(err.line).to.equal(line.slice(0, 200));
      });
    }

    it("should reject a line over 64 KiB without keeping all of it", () => {
      const err = syntaxError(`X.f("${"y".repeat(70 * 1024)}")`);
      expect(err.message).to.match(/line too long: \d+ bytes \(at most 65536\)/);
      expect(err.line.length).to.be.at.most(200);
    });

    it("should point a caret at the column", () => {
      const err = syntaxError("RectA.area");
      expect(err.pointer()).to.equal("RectA.area\n          ^");
    });

    it("should carry column and line as wire fields", () => {
      expect(syntaxError("lss").wireFields()).to.deep.equal({ column: 1, line: "lss" });
    });
  });

  describe("robustness", () => {
    it("should parse long but legal lines quickly", () => {
      const spaces = " ".repeat(60000);
      const started = Date.now();
      expect(parseLine(`X.f(${spaces}1${spaces.slice(0, 3000)})`)).to.include({ kind: "invoke" });
      expect(syntaxError(`lss${spaces}x`).message).to.contain("unknown command");
      expect(Date.now() - started).to.be.lessThan(2000);
    });

    it("should either parse or throw LineSyntaxError for 2,000 random lines", function () {
      this.timeout(10000);
      const next = random(20240501);
      const alphabet = ` !"#$%&'()*+,-./0123456789:;<=>?@ABCXYZabcnxyz[\\]^_\`{|}~\tdelsw`;
      const prefixes = ["", "X.f(", "new C N(", "@cs2 a.b(", "ls ", "X.f([{a: "];
      for (let i = 0; i < 2000; i++) {
        const length = Math.floor(next() * 40);
        let line = prefixes[Math.floor(next() * prefixes.length)];
        for (let j = 0; j < length; j++) line += alphabet[Math.floor(next() * alphabet.length)];
        try {
          const command = parseLine(line);
          expect(command, line).to.have.property("kind");
        } catch (err) {
          if (!(err instanceof LineSyntaxError)) throw new Error(`${JSON.stringify(line)} threw ${String(err)}`);
          expect(err.column, line).to.be.within(1, line.length + 1);
        }
      }
    });

    it("should either parse or throw LineSyntaxError for random printable Unicode", () => {
      const next = random(7);
      for (let i = 0; i < 500; i++) {
        let line = "X.f(";
        for (let j = 0; j < 20; j++) line += String.fromCodePoint(0x20 + Math.floor(next() * 0x2fff));
        try {
          parseLine(line);
        } catch (err) {
          expect(err, line).to.be.instanceOf(LineSyntaxError);
        }
      }
    });
  });
});
