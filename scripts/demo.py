#!/usr/bin/env python3
"""Drive ctxd through a short MCP session and print what each tool answers.

usage: demo.py CTXD_BINARY WORKSPACE
"""
import json
import os
import subprocess
import sys
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
    binary, workspace = sys.argv[1], os.path.abspath(sys.argv[2])
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
    call("refused: a path outside the workspace", "read_text_file", {"path": "/etc/passwd"})
    call("refused: .. escaping the workspace", "read_text_file",
         {"path": "../../README.md"})
    rc = c.close()
    print("\nctxd exited with status %d after stdin closed" % rc)
    sys.exit(rc)


if __name__ == "__main__":
    main()
