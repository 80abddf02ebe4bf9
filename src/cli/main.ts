#!/usr/bin/env node
/** Entry point of the `poolkit` program (package.json `bin`); the commands live in commands.ts. */
import { main } from "./commands.js";

process.exitCode = await main(process.argv.slice(2));
