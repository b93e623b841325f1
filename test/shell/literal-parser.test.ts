/**
 * Tests of the argument grammar (shell/literal-parser.ts): every literal form, names,
 * nesting, and malformed arguments rejected with the right column.
 */
import { expect } from "chai";
import { LineSyntaxError } from "../../shell/errors.js";
import {
  isObjectPath, isPath, MAX_DEPTH, MAX_LINE_BYTES, parseArgumentList, parseExpr,
} from "../../shell/literal-parser.js";
import type { Expr } from "../../shell/shell-command.js";

const lit = (value: unknown): Expr => ({ kind: "literal", value });
const name = (path: string): Expr => ({ kind: "name", path });

/** The value of a literal expression (fails the test if it is not one). */
function value(text: string): unknown {
  const expr = parseExpr(text);
  expect(expr.kind, text).to.equal("literal");
  return (expr as { value: unknown }).value;
}

/** The LineSyntaxError parsing `text` throws. */
function syntaxError(text: string): LineSyntaxError {
  try {
    parseExpr(text);
  } catch (err) {
    expect(err, text).to.be.instanceOf(LineSyntaxError);
    return err as LineSyntaxError;
  }
  throw new Error(`expected a LineSyntaxError for ${JSON.stringify(text)}`);
}

describe("LiteralParser", () => {
  describe("numbers", () => {
    const cases: [string, number][] = [
      ["0", 0], ["42", 42], ["-7", -7], ["+7", 7], ["3.25", 3.25], ["-0.5", -0.5],
      [".5", 0.5], ["5.", 5], ["1e3", 1000], ["2.5E-3", 0.0025], ["1e+2", 100], ["1.e2", 100],
      ["0x1F", 31], ["0XfF", 255], ["0b1010", 10], ["-0b11", -3], ["0o17", 15],
      ["1_000_000", 1000000], ["0xf_f", 255], ["1_0.2_5", 10.25],
      ["Infinity", Infinity], ["-Infinity", -Infinity], ["+Infinity", Infinity],
    ];
    for (const [text, expected] of cases) {
      it(`should read ${text} as ${expected}`, () => {
        expect(value(text)).to.equal(expected);
      });
    }

    it("should read NaN and keep -0", () => {
      expect(Number.isNaN(value("NaN"))).to.equal(true);
      expect(Object.is(value("-0"), -0)).to.equal(true);
    });
  });

  describe("bigints", () => {
    const cases: [string, bigint][] = [
      ["10n", 10n], ["-5n", -5n], ["0n", 0n], ["0x10n", 16n], ["0b11n", 3n], ["1_000n", 1000n],
      ["123456789012345678901234567890n", 123456789012345678901234567890n],
    ];
    for (const [text, expected] of cases) {
      it(`should read ${text}`, () => {
        expect(value(text)).to.equal(expected);
      });
    }
  });

  describe("strings", () => {
    const cases: [string, string][] = [
      [`'abc'`, "abc"], [`"abc"`, "abc"], ["`abc`", "abc"], [`""`, ""],
      [`"it's"`, "it's"], [`'say "hi"'`, 'say "hi"'], [`'a\\'b'`, "a'b"], [`"a\\"b"`, 'a"b'],
      ["`a\\`b`", "a`b"], [`"a\\nb\\tc\\rd"`, "a\nb\tc\rd"], [`"\\\\"`, "\\"],
      [`"\\x41\\u0042\\u{43}"`, "ABC"], [`"\\u{1F600}"`, "\u{1F600}"], [`"\\0"`, "\0"],
      [`"\\b\\f\\v"`, "\b\f\v"], [`"\\q"`, "q"], ["`cost: $5 {x}`", "cost: $5 {x}"],
      [`"#not a comment"`, "#not a comment"], [`"a, b) c"`, "a, b) c"], [`"é ü 中"`, "é ü 中"],
    ];
    for (const [text, expected] of cases) {
      it(`should read ${text}`, () => {
        expect(value(text)).to.equal(expected);
      });
    }
  });

  describe("words", () => {
    it("should read true, false, null and undefined", () => {
      expect(value("true")).to.equal(true);
      expect(value("false")).to.equal(false);
      expect(value("null")).to.equal(null);
      expect(parseExpr("undefined")).to.deep.equal(lit(undefined));
    });

    it("should read bare identifiers and paths as names", () => {
      for (const path of ["RectA", "_x", "trueish", "newRect", "a.b", "dir/RectA", "/users/ana/RectA",
        "../RectA", "./RectA", "a-b", "x1"]) {
        expect(parseExpr(path), path).to.deep.equal(name(path));
      }
    });

    it("should read new Date(string) and new Date(ms) as Date values", () => {
      const date = value(`new Date("2024-05-01T00:00:00Z")`) as Date;
      expect(date).to.be.instanceOf(Date);
      expect(date.toISOString()).to.equal("2024-05-01T00:00:00.000Z");
      expect((value("new  Date ( 86400000 )") as Date).getTime()).to.equal(86400000);
      expect((value("new Date(-1)") as Date).getTime()).to.equal(-1);
    });
  });

  describe("arrays and objects", () => {
    it("should read nested arrays with names inside", () => {
      expect(parseExpr(`[1, [2, "x"], RectA, []]`)).to.deep.equal({
        kind: "array",
        items: [lit(1), { kind: "array", items: [lit(2), lit("x")] }, name("RectA"), { kind: "array", items: [] }],
      });
    });

    it("should read objects with identifier, string and number keys", () => {
      expect(parseExpr(`{a: 1, "b c": 2, 'd': [x], 3: true, 0x10: 0, 1.50: 0, new: 0}`)).to.deep.equal({
        kind: "object",
        entries: [["a", lit(1)], ["b c", lit(2)], ["d", { kind: "array", items: [name("x")] }],
          ["3", lit(true)], ["16", lit(0)], ["1.5", lit(0)], ["new", lit(0)]],
      });
    });

    it("should allow trailing commas and spaces everywhere", () => {
      expect(parseExpr("[ 1 , 2 , ]")).to.deep.equal({ kind: "array", items: [lit(1), lit(2)] });
      expect(parseExpr("{ a : 1 , }")).to.deep.equal({ kind: "object", entries: [["a", lit(1)]] });
      expect(parseExpr("{}")).to.deep.equal({ kind: "object", entries: [] });
    });

    it("should keep a repeated key's first position and last value", () => {
      expect(parseExpr("{a: 1, b: 2, a: 3}")).to.deep.equal({
        kind: "object", entries: [["a", lit(3)], ["b", lit(2)]],
      });
    });

    it("should keep __proto__ as an ordinary key", () => {
      expect(parseExpr("{__proto__: 1}")).to.deep.equal({ kind: "object", entries: [["__proto__", lit(1)]] });
    });

    it(`should accept nesting ${MAX_DEPTH} deep and reject one more`, () => {
      const ok = "[".repeat(MAX_DEPTH) + "]".repeat(MAX_DEPTH);
      expect(parseExpr(ok).kind).to.equal("array");
      const err = syntaxError("[".repeat(MAX_DEPTH + 1) + "]".repeat(MAX_DEPTH + 1));
      expect(err.message).to.contain(`nesting deeper than ${MAX_DEPTH} levels`);
      expect(err.column).to.equal(MAX_DEPTH + 1);
    });

    it("should reject very deep nesting with a LineSyntaxError, not a stack overflow", () => {
      expect(syntaxError("{a:".repeat(20000)).message).to.contain("nesting deeper");
    });
  });

  describe("argument lists", () => {
    it("should read an argument list and say where it ended", () => {
      const line = "X.f(1, RectA, [2]) &";
      expect(parseArgumentList(line, 3)).to.deep.equal({
        args: [lit(1), name("RectA"), { kind: "array", items: [lit(2)] }],
        end: 18,
      });
    });

    it("should read an empty list and a trailing comma", () => {
      expect(parseArgumentList("()", 0).args).to.deep.equal([]);
      expect(parseArgumentList("(1,)", 0).args).to.deep.equal([lit(1)]);
    });
  });

  describe("malformed arguments", () => {
    const cases: [string, string, number][] = [
      ["", "expected a value", 1],
      ["1 2", "unexpected '2' after the value", 3],
      ["1+2", "unexpected '+' after the value", 2],
      ["-x", "expected a number after '-'", 2],
      ["--5", "expected a number after '-'", 2],
      ["- 5", "expected a number after '-'", 2],
      ["!true", "operators are not allowed in arguments: unexpected '!'", 1],
      ["[1 2]", "expected ',' or ']' in the array, found '2'", 4],
      ["[1, 2", "expected ']' to close the array", 6],
      ["[1,,2]", "expected a value (a literal or an object name), found ','", 4],
      ["[a*b]", "operators are not allowed in arguments: unexpected '*'", 3],
      ["[f(1)]", "calls are not allowed in arguments (only new Date(...))", 3],
      ["[...a]", "spread '...' is not allowed in arguments", 2],
      ["[1 /* c */]", "comments are not allowed in arguments", 4],
      ["[// c", "comments are not allowed in arguments", 2],
      ["[# c]", "comments are not allowed in arguments", 2],
      ["/ab+c/", "unexpected '+' after the value", 4],
      ["{a 1}", "expected ':' after the key 'a', found '1'", 4],
      ["{a}", "expected ':' after the key 'a', found '}'", 3],
      ["{[k]: 1}", "computed keys are not allowed in arguments", 2],
      ["{`k`: 1}", "expected a key (a name, a string or a number), found '`'", 2],
      ["{a: 1", "expected '}' to close the object", 6],
      ["{...o}", "spread '...' is not allowed in arguments", 2],
      ["'abc", "unterminated string (opened at column 1): expected '", 5],
      ['"a\\', "unterminated string (opened at column 1)", 4],
      ["`a${b}`", "template interpolation '${' is not allowed in arguments", 3],
      ['"\\x4"', "expected two hex digits after '\\x'", 2],
      ['"\\u12"', "expected four hex digits or {...} after '\\u'", 2],
      ['"\\u{}"', "expected hex digits and '}' in '\\u{...}'", 2],
      ['"\\u{110000}"', "code point above 10FFFF", 2],
      ['"\\1"', "octal escapes are not allowed", 2],
      ["007", "a number may not start with 0", 1],
      ["0_1", "a number may not start with 0", 1],
      ["1__0", "'_' must sit between two digits", 2],
      ["1_", "'_' must sit between two digits", 2],
      ["1_.5", "'_' must sit between two digits", 2],
      ["0x_1", "'_' must sit between two digits", 3],
      ["0x", "expected hex digits after '0x'", 3],
      ["0xg", "expected hex digits after '0x'", 3],
      ["0b102", "'2' is not a binary digit", 5],
      ["0o8", "expected octal digits after '0o'", 3],
      ["1e", "expected digits in the exponent", 3],
      ["1e+", "expected digits in the exponent", 4],
      ["5px", "unexpected 'p' after the number", 2],
      ["1.5n", "a bigint must be an integer", 1],
      ["1e3n", "a bigint must be an integer", 1],
      ["10nx", "unexpected 'x' after the number", 4],
      ["this", "'this' is a keyword, not an object name", 1],
      ["typeof.x", "'typeof' is a keyword, not an object name", 1],
      ["true.x", "'true' is a keyword, not an object name", 1],
      ["$x", "'$x' is not an object name", 1],
      ["a//b", "'a//b' is not an object name", 1],
      ["dir/", "'dir/' is not an object name", 1],
      ["..", "'..' is not an object name", 1],
      ["new Map()", "only new Date(...) is allowed in arguments, not new Map", 5],
      ["new (1)", "expected 'Date' after 'new'", 5],
      ["new Date", "expected '(' after 'new Date', found the end of the line", 9],
      ["new Date()", "new Date(...) takes one date string or a number of milliseconds", 9],
      ["new Date(2024, 1)", "new Date(...) takes one date string or a number of milliseconds", 9],
      ["new Date([1])", "new Date(...) takes one date string or a number of milliseconds", 9],
      ['new Date("soon")', 'invalid date "soon" in new Date(...)', 1],
      ["(1)", "expected a value (a literal or an object name), found '('", 1],
      ["@x", "expected a value (a literal or an object name), found '@'", 1],
    ];
    for (const [text, message, column] of cases) {
      it(`should reject ${JSON.stringify(text)} at column ${column}`, () => {
        const err = syntaxError(text);
        expect(err.message).to.contain(message);
        expect(err.column, err.message).to.equal(column);
        expect(err.line).to.equal(text);
      });
    }

    it("should reject a line over 64 KiB", () => {
      const err = syntaxError(`"${"x".repeat(MAX_LINE_BYTES)}"`);
      expect(err.message).to.contain(`at most ${MAX_LINE_BYTES}`);
      expect(err.line.length).to.be.lessThan(1000);
    });

    it("should count the 64 KiB in UTF-8 bytes", () => {
      const text = `"${"é".repeat(MAX_LINE_BYTES / 2)}"`;
      expect(text.length).to.be.lessThan(MAX_LINE_BYTES);
      expect(syntaxError(text).message).to.contain("line too long");
    });
  });

  describe("paths", () => {
    it("should tell object paths from directory paths", () => {
      expect(isObjectPath("/users/ana/RectA")).to.equal(true);
      expect(isObjectPath("/")).to.equal(false);
      expect(isObjectPath("a/..")).to.equal(false);
      expect(isPath("/")).to.equal(true);
      expect(isPath("..")).to.equal(true);
      expect(isPath("/users/")).to.equal(true);
      expect(isPath("a//b")).to.equal(false);
      expect(isPath("a b")).to.equal(false);
    });
  });
});
