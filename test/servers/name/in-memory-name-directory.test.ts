import { InMemoryNameDirectory } from "../../../servers/name/in-memory-name-directory.js";
import { describeNameDirectoryBehaviour } from "../../support/name-directory-behaviour.js";

describe("InMemoryNameDirectory", () => {
  describeNameDirectoryBehaviour({
    open: async () => new InMemoryNameDirectory(),
    dispose: async () => {},
  });
});
