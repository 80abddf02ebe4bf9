#!/usr/bin/env node
/** Entry point of the `poolkit` program (package.json `bin`); the commands live in commands.ts. */
import { main } from "./commands.js";

// `poolkit list | head`: a closed pipe ends the program quietly instead of with an EPIPE trace.
process.stdout.on("error", (e: NodeJS.ErrnoException) => {
  if (e.code === "EPIPE") process.exit(process.exitCode ?? 0);
  throw e;
});

process.exitCode = await main(process.argv.slice(2));
