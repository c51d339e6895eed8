// Tokenises lines of .flow with the real TextMate engine VS Code uses
// (vscode-textmate on the Oniguruma regex engine), and checks the scopes.
// Run: npm install && npm test (tests/compiler/lsp/test_vscode.py runs it
// when node and these packages are present).
"use strict";

const assert = require("node:assert");
const fs = require("node:fs");
const path = require("node:path");
const test = require("node:test");
const oniguruma = require("vscode-oniguruma");
const textmate = require("vscode-textmate");

const grammarPath = path.join(__dirname, "..", "syntaxes", "fermata.tmLanguage.json");

async function loadGrammar() {
  const wasm = fs.readFileSync(require.resolve("vscode-oniguruma/release/onig.wasm"));
  await oniguruma.loadWASM(wasm.buffer.slice(wasm.byteOffset, wasm.byteOffset + wasm.byteLength));
  const registry = new textmate.Registry({
    onigLib: Promise.resolve({
      createOnigScanner: (patterns) => new oniguruma.OnigScanner(patterns),
      createOnigString: (s) => new oniguruma.OnigString(s),
    }),
    loadGrammar: async () =>
      textmate.parseRawGrammar(fs.readFileSync(grammarPath, "utf8"), grammarPath),
  });
  return registry.loadGrammar("source.fermata");
}

// The scopes of the first token whose text is `text` on `line`.
function scopesOf(grammar, line, text) {
  const { tokens } = grammar.tokenizeLine(line, textmate.INITIAL);
  const token = tokens.find((t) => line.slice(t.startIndex, t.endIndex) === text);
  assert.ok(token, `no token ${JSON.stringify(text)} in ${JSON.stringify(line)}`);
  return token.scopes;
}

test("keywords, names, numbers and comments", async () => {
  const g = await loadGrammar();
  assert.ok(scopesOf(g, "node pay retry 3 {", "node").includes("storage.type.fermata"));
  assert.ok(scopesOf(g, "node pay retry 3 {", "pay").includes("entity.name.function.fermata"));
  assert.ok(scopesOf(g, "node pay retry 3 {", "3").includes("constant.numeric.fermata"));
  assert.ok(scopesOf(g, "a -> b when x > 1", "when").includes("keyword.control.fermata"));
  assert.ok(scopesOf(g, "a -> b when x > 1", "->").includes("keyword.operator.arrow.fermata"));
  assert.ok(scopesOf(g, "timeout 30s", "30s").includes("constant.numeric.duration.fermata"));
  assert.ok(scopesOf(g, "x: int # a note", "# a note").includes("comment.line.number-sign.fermata"));
});

test("templates inside strings are embedded", async () => {
  const g = await loadGrammar();
  const line = 'set log += ["risk {{ risk | round }} of {{ d.approved }}"]';
  assert.ok(scopesOf(g, line, "risk ").includes("string.quoted.double.fermata"));
  const inside = scopesOf(g, line, "{{");
  assert.ok(inside.includes("punctuation.section.embedded.begin.fermata"));
  const { tokens } = g.tokenizeLine(line, textmate.INITIAL);
  const names = tokens.filter((t) => t.scopes.includes("variable.other.template.fermata"))
    .map((t) => line.slice(t.startIndex, t.endIndex));
  assert.deepStrictEqual(names, ["risk", "d"]);
  assert.ok(scopesOf(g, line, "round").includes("support.function.filter.fermata"));
  assert.ok(scopesOf(g, line, "approved").includes("variable.other.property.fermata"));
});

test("docstrings are strings across lines", async () => {
  const g = await loadGrammar();
  const first = g.tokenizeLine('"""A person', textmate.INITIAL);
  const second = g.tokenizeLine('approves {{ x }}."""', first.ruleStack);
  const scopes = second.tokens[0].scopes;
  assert.ok(scopes.includes("string.quoted.triple.fermata"));
});
