// Starts `fermata lsp` for .flow files. The server does all the work; this
// client only launches it (the command is the `fermata.server.command`
// setting) and restarts it when that setting changes.
"use strict";

const vscode = require("vscode");
const { LanguageClient } = require("vscode-languageclient/node");

let client;

function serverOptions() {
  const [command, ...args] = vscode.workspace
    .getConfiguration("fermata")
    .get("server.command", ["fermata", "lsp"]);
  return { command, args };
}

async function start(context) {
  client = new LanguageClient(
    "fermata",
    "Fermata",
    serverOptions(),
    {
      documentSelector: [{ language: "fermata" }],
      synchronize: { fileEvents: vscode.workspace.createFileSystemWatcher("**/pyproject.toml") },
    },
  );
  await client.start();
  context.subscriptions.push(client);
}

async function activate(context) {
  await start(context);
  context.subscriptions.push(
    vscode.workspace.onDidChangeConfiguration(async (event) => {
      if (event.affectsConfiguration("fermata.server.command")) {
        await client.stop();
        await start(context);
      }
    }),
  );
}

function deactivate() {
  return client ? client.stop() : undefined;
}

module.exports = { activate, deactivate };
