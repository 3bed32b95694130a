#!/usr/bin/env python3
"""Every configuration key src/config_load.c accepts is documented.

usage: check_config_keys.py SOURCE_ROOT

Reads the key tables of src/config_load.c (each `static const char *const keys[]` and the
section its function passes to next_key()) and checks that each key, written with its
section as in `limits.frame_bytes` (top-level keys bare, root mapping keys as
`roots[].path`), appears
  - in doc/ctxd.yaml.5.scd as a bold term: *limits.frame_bytes*;
  - in config/ctxd.example.yaml inside its section's block (comments count), as `key:`.
A key added to config_load.c without documentation makes this test fail; so does a keys[]
table whose section this script cannot tell (then add its function to SECTION_OF).
Exits 0 when all are found, 1 listing every missing one.
"""
import os
import re
import sys

# Functions whose next_key() section argument is not a string literal.
SECTION_OF = {"parse_root_map": "roots[]"}
TOP = "the top level"


def config_keys(text):
    """[(section, key)] in source order; section '' for the top level."""
    out = []
    funcs = re.split(r"\n(?=(?:static )?int (?:\w+)\()", text)
    for body in funcs:
        m = re.match(r"(?:static )?int (\w+)\(", body)
        table = re.search(r"static const char \*const keys\[\] = \{(.*?)\};", body, re.S)
        if not m or not table:
            continue
        name = m.group(1)
        keys = re.findall(r'"([^"]+)"', table.group(1))
        call = re.search(r'next_key\(ld,\s*("([^"]*)"|\w+)', body)
        if call and call.group(2) is not None:
            section = "" if call.group(2) == TOP else call.group(2)
        elif name in SECTION_OF:
            section = SECTION_OF[name]
        else:
            sys.stderr.write("check_config_keys: cannot tell which section the keys of %s() "
                             "belong to; add it to SECTION_OF in %s\n" % (name, sys.argv[0]))
            sys.exit(1)
        out += [(section, k) for k in keys]
    return out


def full_name(section, key):
    return section + "." + key if section else key


def example_blocks(text):
    """{top-level key: its block of lines}, each block with the comments just above it."""
    lines = text.splitlines()
    starts = [i for i, ln in enumerate(lines) if re.match(r"[A-Za-z_][\w]*:", ln)]
    leads = []
    for i in starts:
        j = i
        while j > 0 and (lines[j - 1].startswith("#") or not lines[j - 1].strip()):
            j -= 1
        leads.append(j)
    blocks = {}
    for n, i in enumerate(starts):
        end = leads[n + 1] if n + 1 < len(starts) else len(lines)
        key = lines[i].split(":", 1)[0]
        blocks[key] = "\n".join(lines[leads[n]:end])
    return blocks


def main():
    if len(sys.argv) != 2:
        sys.stderr.write(__doc__)
        return 2
    root = sys.argv[1]
    src = open(os.path.join(root, "src", "config_load.c")).read()
    # sections parsed in files of their own (config_http.c: http)
    src += "\n" + open(os.path.join(root, "src", "config_http.c")).read()
    man = open(os.path.join(root, "doc", "ctxd.yaml.5.scd")).read()
    example = open(os.path.join(root, "config", "ctxd.example.yaml")).read()
    keys = config_keys(src)
    if len(keys) < 10:
        sys.stderr.write("check_config_keys: found only %d keys in src/config_load.c; the key "
                         "tables changed shape, update this script\n" % len(keys))
        return 1
    blocks = example_blocks(example)
    missing = []
    for section, key in keys:
        name = full_name(section, key)
        if "*%s*" % name not in man:
            missing.append("doc/ctxd.yaml.5.scd lacks *%s*" % name)
        top = section.split(".", 1)[0].rstrip("[]")
        where = example if not top else blocks.get(top, "")
        if not re.search(r"(?<![\w.])%s:" % re.escape(key), where):
            missing.append("config/ctxd.example.yaml lacks %s%s" %
                           (name, "" if not top else " in its %s: block" % top))
    if missing:
        sys.stderr.write("undocumented configuration keys (accepted by src/config_load.c):\n  " +
                         "\n  ".join(missing) + "\n")
        return 1
    print("%d configuration keys, each in ctxd.yaml(5) and ctxd.example.yaml" % len(keys))
    return 0


if __name__ == "__main__":
    sys.exit(main())
