"""The `fermata` command line: main.py parses arguments and dispatches, one
module per command, common.py holds exit codes and shared helpers. Commands
never import main.py."""
