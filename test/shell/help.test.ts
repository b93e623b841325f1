/**
 * Tests of the shell's help text (shell/help.ts): the overview, one command, aliases, and
 * unknown commands; and that every command the parser knows has an entry.
 */
import { expect } from "chai";
import { HELP, helpText } from "../../shell/help.js";
import { LineSyntaxError } from "../../shell/errors.js";
import { parseLine } from "../../shell/line-parser.js";

describe("helpText", () => {
  it("should list every command's usage and summary in the overview", () => {
    const text = helpText();
    for (const entry of Object.values(HELP)) {
      expect(text).to.contain(entry.usage);
      expect(text).to.contain(entry.summary);
    }
    expect(text).to.contain("help CMD");
  });

  it("should give the overview for an empty or blank topic", () => {
    expect(helpText("")).to.equal(helpText());
    expect(helpText("  ")).to.equal(helpText());
  });

  it("should explain one command with usage, summary and details", () => {
    const text = helpText("mv");
    expect(text.split("\n")[0]).to.equal("mv A B");
    expect(text).to.contain(HELP.mv.summary);
    expect(text).to.contain(HELP.mv.details);
  });

  it("should explain invocations and their argument literals", () => {
    const text = helpText("invoke");
    expect(text).to.contain("[@server] Name.entry(args) [&]");
    expect(text).to.contain("new Date");
    expect(text).to.contain("10n");
  });

  it("should treat quit as exit", () => {
    expect(helpText("quit")).to.equal(helpText("exit"));
  });

  it("should say so for an unknown command", () => {
    expect(helpText("lss")).to.equal("no such command 'lss' (try 'help')");
    expect(helpText("constructor")).to.equal("no such command 'constructor' (try 'help')");
    expect(helpText("toString")).to.equal("no such command 'toString' (try 'help')");
  });

  it("should keep every usage on one line", () => {
    for (const [kind, entry] of Object.entries(HELP)) {
      expect(entry.usage, kind).not.to.contain("\n");
      expect(entry.summary, kind).not.to.contain("\n");
    }
  });

  it("should have an entry for every command word the parser knows", () => {
    const words = ["load", "new", "ls", "cd", "pwd", "mv", "rm", "info", "inspect", "pages",
      "threads", "kill", "trace", "servers", "help", "exit", "quit"];
    for (const word of words) {
      expect(helpText(word), word).not.to.contain("no such command");
      try {
        parseLine(`${word} a b c d`);
      } catch (err) {
        expect(err, word).to.be.instanceOf(LineSyntaxError);
        expect((err as Error).message, word).not.to.contain("unknown command");
      }
    }
  });
});
