/**
 * Errors of the shell. Each is a CloudsError, so `clouds exec` and remote tools rebuild it
 * by name.
 *
 * LineSyntaxError is the only error `parseLine` throws: any line it cannot read, however
 * malformed, ends here, never as a TypeError or a stack overflow. The message says what
 * was expected and where (`expected ')' to close the argument list at column 18`);
 * `column` is 1-based into `line`, and `pointer()` draws a caret under it.
 */
import { CloudsError, registerError } from "../ra-kernel/clouds-error.js";

/** Longest line kept in the error (a rejected 64 KiB line is not carried around). */
const KEPT_LINE_CHARS = 200;

/** Thrown when a shell line cannot be parsed: names the problem and its column. */
export class LineSyntaxError extends CloudsError {
  /** 1-based column of the problem (one past the last character for "expected more"). */
  declare readonly column: number;
  /** The line as given (cut to its first 200 characters when longer). */
  declare readonly line: string;
  static override fieldNames = ["column", "line"];

  /** `problem at column N`, for the character at 0-based `index` of `line`. */
  static at(line: string, index: number, problem: string): LineSyntaxError {
    return LineSyntaxError.plain(line, index, `${problem} at column ${index + 1}`);
  }

  /** An error whose message is `message` as is (it names no column itself). */
  static plain(line: string, index: number, message: string): LineSyntaxError {
    const kept = line.length > KEPT_LINE_CHARS ? line.slice(0, KEPT_LINE_CHARS) : line;
    return new LineSyntaxError(message, { column: index + 1, line: kept });
  }

  /** The line and a caret under the column, for terminals. */
  pointer(): string {
    const pad = this.line.slice(0, this.column - 1).replace(/[^\t]/g, " ");
    return `${this.line}\n${pad}^`;
  }
}

registerError(LineSyntaxError);

/**
 * Thrown when `clouds up` could not start one server process of the embedded cluster: names
 * the server and why (with the tail of its log in the message). `portTaken`: it asked for
 * a port that another process holds (a repair then takes any free port).
 */
export class ServerStartError extends CloudsError {
  declare readonly serverId: string;
  declare readonly role: string;
  declare readonly portTaken: boolean;
  static override fieldNames = ["serverId", "role", "portTaken"];
}

/** Thrown when `clouds down` (or `up`) is run in a workstation's directory, which started no server. */
export class NotLauncherDirError extends CloudsError {
  declare readonly dir: string;
  static override fieldNames = ["dir"];
}

/** Thrown when another `clouds up` or `clouds down` is working on the same cluster directory. */
export class LauncherBusyError extends CloudsError {
  declare readonly dir: string;
  declare readonly holderPid: number;
  static override fieldNames = ["dir", "holderPid"];
}

registerError(ServerStartError);
registerError(LauncherBusyError);
registerError(NotLauncherDirError);
