// Prints the README's methods table from the registry (run after `npm run build`).
import { listPools } from "../dist/index.js";

const rows = listPools().map((m) => {
  const exports = Object.values(m.exports).map((e) => "`" + e + "`").join(", ");
  const dims = m.dims.length ? m.dims.map((d) => `${d}d`).join("/") : "—";
  const learn = m.learnable.length ? m.learnable.join(", ") : "—";
  return `| ${m.name} | ${exports} | ${m.category} | ${dims} | ${m.random ? "yes" : "—"} | ${learn} | ${m.paper} |`;
});
console.log("| method | exports | category | dims | random | learnable | paper |");
console.log("| --- | --- | --- | --- | --- | --- | --- |");
for (const r of rows) console.log(r);
