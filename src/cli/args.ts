/**
 * Command-line parsing for `poolkit`: node:util's tokenizer (`parseArgs` with `tokens: true`,
 * `strict: false`), but our own checks and messages, because its strict-mode errors quote the
 * offending text unevenly ("Unknown option '--bogus'. To specify a positional argument starting with
 * a '-', place it at the end of the command after '--', as in '-- \"--bogus\"."). Every mistake here
 * is a {@link UsageError} (exit code 2) that names the command, the flag and what it accepts.
 */
import { parseArgs } from "node:util";

/** Bad usage (exit code 2): the message is printed as `poolkit: <message>` plus a pointer to help. */
export class UsageError extends Error {
  override readonly name = "UsageError";
}

/** One flag: a string (`--input x`, `--input=x`, `-i x`), repeatable or not, or a boolean switch. */
export interface FlagSpec {
  readonly type: "string" | "boolean";
  readonly short?: string;
  readonly multiple?: boolean;
  /** Shown as `--flag <hint>` in messages. */
  readonly hint?: string;
}

/** Parsed flags: strings, string lists (`multiple`) or `true`; absent flags are missing. */
export type FlagValues = Readonly<Record<string, string | readonly string[] | true>>;

/** A command line split into flags and positional arguments. */
export interface Parsed {
  readonly values: FlagValues;
  readonly positionals: readonly string[];
}

function flagName(name: string, spec: FlagSpec): string {
  return spec.type === "string" ? `--${name} <${spec.hint ?? "value"}>` : `--${name}`;
}

/** The flags a command accepts, for messages: `--input <file>, --json, -h/--help`. */
export function describeFlags(flags: Readonly<Record<string, FlagSpec>>): string {
  const names = Object.entries(flags).map(([n, s]) => flagName(n, s));
  return [...names, "--help"].join(", ");
}

/**
 * Parse `args` for `command` against `flags` (`--help`/`-h` is always accepted). Values are stored
 * in a prototype-free object, so no flag name can reach `Object.prototype`.
 */
export function parseCommand(command: string, args: readonly string[], flags: Readonly<Record<string, FlagSpec>>): Parsed {
  const all: Record<string, FlagSpec> = { help: { type: "boolean", short: "h" }, ...flags };
  const options: Record<string, { type: "string" | "boolean"; short?: string; multiple?: boolean }> = {};
  for (const [n, s] of Object.entries(all)) options[n] = { type: s.type, ...(s.short ? { short: s.short } : {}), ...(s.multiple ? { multiple: true } : {}) };
  const { tokens } = parseArgs({ args: [...args], options, strict: false, allowPositionals: true, tokens: true });
  const values: Record<string, string | string[] | true> = Object.create(null) as Record<string, string | string[] | true>;
  const positionals: string[] = [];
  for (const t of tokens) {
    if (t.kind === "positional") {
      positionals.push(t.value);
      continue;
    }
    if (t.kind === "option-terminator") continue;
    const spec = Object.hasOwn(all, t.name) ? all[t.name] : undefined;
    if (!spec) {
      throw new UsageError(`${command}: unknown option ${t.rawName}; it accepts ${describeFlags(flags)}`);
    }
    if (spec.type === "boolean") {
      if (t.value !== undefined) throw new UsageError(`${command}: ${t.rawName} takes no value, got ${JSON.stringify(t.value)}`);
      values[t.name] = true;
      continue;
    }
    if (t.value === undefined) throw new UsageError(`${command}: ${t.rawName} needs a value (${flagName(t.name, spec)})`);
    if (spec.multiple) {
      const list = values[t.name];
      values[t.name] = Array.isArray(list) ? [...list, t.value] : [t.value];
    } else {
      if (values[t.name] !== undefined) throw new UsageError(`${command}: ${flagName(t.name, spec)} given twice`);
      values[t.name] = t.value;
    }
  }
  return { values, positionals };
}

/** A string flag's value (undefined when absent). */
export function stringFlag(values: FlagValues, name: string): string | undefined {
  const v = values[name];
  return typeof v === "string" ? v : undefined;
}

/** A repeatable string flag's values (empty when absent). */
export function listFlag(values: FlagValues, name: string): readonly string[] {
  const v = values[name];
  return Array.isArray(v) ? (v as readonly string[]) : typeof v === "string" ? [v] : [];
}

/** A positive integer flag in [min, max], or the default. */
export function intFlag(command: string, values: FlagValues, name: string, fallback: number, min: number, max: number): number {
  const text = stringFlag(values, name);
  if (text === undefined) return fallback;
  const n = /^\s*[+-]?\d+\s*$/.test(text) ? Number(text) : NaN;
  if (!Number.isSafeInteger(n) || n < min || n > max) {
    throw new UsageError(`${command}: --${name} must be an integer in [${min}, ${max}], got ${JSON.stringify(text)}`);
  }
  return n;
}
