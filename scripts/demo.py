#!/usr/bin/env python3
"""Drive ctxd through a short MCP session and print what each tool answers.

usage: demo.py CTXD_BINARY WORKSPACE
"""
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time


class Client:
    def __init__(self, argv):
        self.p = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE)
        self.next_id = 0

    def request(self, method, params=None):
        self.next_id += 1
        msg = {"jsonrpc": "2.0", "id": self.next_id, "method": method}
        if params is not None:
            msg["params"] = params
        self.p.stdin.write((json.dumps(msg) + "\n").encode())
        self.p.stdin.flush()
        while True:
            line = self.p.stdout.readline()
            if not line:
                sys.exit("ctxd closed its output unexpectedly")
            reply = json.loads(line)
            if reply.get("id") == self.next_id:
                return reply

    def notify(self, method):
        self.p.stdin.write((json.dumps({"jsonrpc": "2.0", "method": method}) + "\n").encode())
        self.p.stdin.flush()

    def close(self):
        self.p.stdin.close()
        return self.p.wait(timeout=10)


def show(title, reply):
    print("\n=== %s" % title)
    if "error" in reply:
        print("JSON-RPC error %d: %s" % (reply["error"]["code"], reply["error"]["message"]))
        return
    result = reply["result"]
    for block in result.get("content", []):
        if block.get("type") == "text":
            text = block["text"]
            lines = text.splitlines()
            print("\n".join(lines[:25]) + ("\n... (%d more lines)" % (len(lines) - 25)
                                            if len(lines) > 25 else ""))
    if result.get("isError"):
        print("(isError: the model is told what went wrong and can fix its call)")


def main():
    binary, source = sys.argv[1], os.path.abspath(sys.argv[2])
    # Work on a copy: the demo writes files and creates a memory bank.
    tmp = tempfile.mkdtemp(prefix="ctxd-demo-")
    workspace = os.path.join(tmp, "workspace")
    shutil.copytree(source, workspace, symlinks=True)
    print("workspace: a copy of %s in %s" % (sys.argv[2], workspace))
    try:
        run(binary, workspace)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def run(binary, workspace):
    c = Client([binary, "--log-level", "info", workspace])
    t0 = time.perf_counter()
    init = c.request("initialize", {"protocolVersion": "2025-11-25", "capabilities": {},
                                    "clientInfo": {"name": "ctxd-demo", "version": "1"}})
    ms = (time.perf_counter() - t0) * 1000
    info = init["result"]["serverInfo"]
    print("connected to %s %s (protocol %s) in %.1f ms" %
          (info["name"], info["version"], init["result"]["protocolVersion"], ms))
    c.notify("notifications/initialized")
    tools = c.request("tools/list")["result"]["tools"]
    print("tools: " + ", ".join(t["name"] for t in tools))

    def call(title, name, args):
        show(title, c.request("tools/call", {"name": name, "arguments": args}))

    call("list_allowed_directories", "list_allowed_directories", {})
    call("list_directory .", "list_directory", {"path": "."})
    call("search_files **/*.md", "search_files", {"path": ".", "pattern": "**/*.md"})
    call("get_file_info README.md", "get_file_info", {"path": "README.md"})
    call("read_text_file README.md (head 8)", "read_text_file",
         {"path": "README.md", "head": 8})
    call("read_text_file src/main.c (lines 3-6)", "read_text_file",
         {"path": "src/main.c", "offset": 3, "limit": 4})
    call("grep 'name' in src/", "grep", {"path": "src", "pattern": "name", "contextLines": 0})
    call("directory_tree", "directory_tree", {"path": "."})
    call("edit_file src/main.c (dry run: the diff only)", "edit_file",
         {"path": "src/main.c", "dryRun": True,
          "edits": [{"oldText": "hello, %s", "newText": "hi, %s"}]})
    call("write_file notes.txt (atomic)", "write_file",
         {"path": "notes.txt", "content": "written by the ctxd demo\n"})
    call("refused: a path outside the workspace", "read_text_file", {"path": "/etc/passwd"})
    call("refused: .. escaping the workspace", "read_text_file",
         {"path": "../../README.md"})
    call("skill_list", "skill_list", {})
    call("skill_activate commit-message with arguments", "skill_activate",
         {"name": "commit-message", "arguments": "fix the greeting"})
    call("skill_read_file", "skill_read_file",
         {"name": "commit-message", "path": "references/types.md"})
    call("memory_bank_init", "memory_bank_init", {})
    call("memory_bank_write progress.md / What Works (section append)",
         "memory_bank_write",
         {"file": "progress.md", "section": "What Works", "mode": "append",
          "content": "- The greeter prints one line per name."})
    call("memory_bank_search greeter", "memory_bank_search", {"query": "greeter"})
    call("memory_bank_validate", "memory_bank_validate", {})
    rc = c.close()
    print("\nctxd exited with status %d after stdin closed" % rc)
    sys.exit(rc)


if __name__ == "__main__":
    main()
