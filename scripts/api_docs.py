#!/usr/bin/env python3
"""Generate docs/api.md from the public headers' Doxygen comments, or check it.

    scripts/api_docs.py            run doxygen (docs/Doxyfile), write docs/api.md
    scripts/api_docs.py --check    fail when a public header has an
                                   undocumented public declaration (or a class without a
                                   thread-safety statement), or when docs/api.md is stale

Doxygen writes only into a temporary directory (or --work DIR), never into the source tree.
The XML is read with xml.etree; the C++ is never parsed here.
"""

import argparse
import difflib
import os
import re
import shutil
import subprocess
import sys
import tempfile
import xml.etree.ElementTree as ET

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DOXYFILE = os.path.join("docs", "Doxyfile")
API_MD = os.path.join("docs", "api.md")

# The public header directories, in the order docs/api.md lists them (docs/Doxyfile's INPUT).
HEADER_DIRS = ["include/dsql", "pqxx/include", "soci/include", "async/include"]

# Every public header: each public declaration must be documented and each class must state
# its thread safety.
def public_headers():
    found = []
    for d in HEADER_DIRS:
        for base, _, files in os.walk(os.path.join(ROOT, d)):
            found += [os.path.relpath(os.path.join(base, f), ROOT) for f in files
                      if f.endswith(".hpp")]
    return sorted(found)


FULLY_DOCUMENTED_HEADERS = public_headers()

# A class's comment says how it may be shared between threads with one of these words.
THREAD_SAFETY_WORDS = re.compile(r"thread|plain value|immutable", re.IGNORECASE)

WARNING_LINE = re.compile(r"^(?P<file>/[^:]+|[^/:][^:]*):(?P<line>\d+): (?P<text>.*)$")


def fail(message):
    print("api_docs: " + message, file=sys.stderr)
    sys.exit(1)


def run_doxygen(doxygen, out_dir):
    """Runs doxygen into out_dir; returns the warnings as (file relative to ROOT, line, text)."""
    env = dict(os.environ, DSQL_DOXYGEN_OUT=out_dir, DSQL_SOURCE_ROOT=ROOT)
    proc = subprocess.run([doxygen, DOXYFILE], cwd=ROOT, env=env, stdout=subprocess.PIPE,
                          stderr=subprocess.STDOUT, universal_newlines=True)
    if proc.returncode != 0:
        fail("doxygen failed:\n" + proc.stdout)
    warnings = []
    log = os.path.join(out_dir, "warnings.log")
    lines = open(log, encoding="utf-8").read().splitlines() if os.path.exists(log) else []
    for line in lines:
        m = WARNING_LINE.match(line)
        if m:
            path = os.path.relpath(os.path.abspath(os.path.join(ROOT, m.group("file"))), ROOT)
            warnings.append([path, int(m.group("line")), m.group("text")])
        elif warnings and line.strip():
            warnings[-1][2] += " " + line.strip()  # a warning continued on the next line
        elif line.strip():
            warnings.append(["", 0, line.strip()])
    return warnings


# --- Reading the XML -----------------------------------------------------------------------------

BLOCKS = {"para", "listitem", "itemizedlist", "orderedlist", "simplesect", "parameterlist",
          "parameteritem", "programlisting", "sp", "linebreak"}


def text_of(element):
    """The element's text, tags dropped, blocks separated by a space, whitespace collapsed."""
    if element is None:
        return ""
    parts = []

    def walk(e):
        if e.tag in BLOCKS:
            parts.append(" ")
        if e.text:
            parts.append(e.text)
        for child in e:
            walk(child)
            if child.tail:
                parts.append(child.tail)
        if e.tag in BLOCKS:
            parts.append(" ")

    walk(element)
    return re.sub(r"\s+", " ", "".join(parts)).strip()


def description(element):
    """Brief and detailed description of a compound or member, as one line."""
    brief = text_of(element.find("briefdescription"))
    detailed = text_of(element.find("detaileddescription"))
    return " ".join(t for t in (brief, detailed) if t)


def template_prefix(element):
    params = element.find("templateparamlist")
    if params is None:
        return ""
    out = []
    for p in params.findall("param"):
        s = text_of(p.find("type"))
        if p.find("declname") is not None:
            s += " " + text_of(p.find("declname"))
        if p.find("defval") is not None:
            s += " = " + text_of(p.find("defval"))
        out.append(s)
    return "template <" + ", ".join(out) + "> "


def tidy(signature):
    """Doxygen's spacing of types ("std::optional< T >", "T &x") the way the headers write it."""
    s = re.sub(r"\s+", " ", signature).strip()
    s = re.sub(r"(?<=\w)< ", "<", s)
    s = re.sub(r"(?<=[\w>&*)]) >", ">", s)
    s = re.sub(r" ([&*]+)", r"\1", s)
    s = re.sub(r"([&*]+)(?=\w)", r"\1 ", s)
    s = re.sub(r"\s*=\s*(delete|default|0)$", r" = \1", s)
    s = re.sub(r"(\w)=(?=\S)", r"\1 = ", s)
    s = re.sub(r"operator\s*([^\w\s(]+|\(\))\s*\(", r"operator\1(", s)
    return s


def member_signature(m):
    kind = m.get("kind")
    name = text_of(m.find("name"))
    mtype = text_of(m.find("type"))
    if kind == "function":
        prefix = ""
        if m.get("virt") in ("virtual", "pure-virtual"):
            prefix = "virtual "
        if m.get("static") == "yes":
            prefix += "static "
        if m.get("explicit") == "yes":
            prefix += "explicit "
        sig = template_prefix(m) + prefix + (mtype + " " if mtype else "") + name
        sig += text_of(m.find("argsstring"))
        return tidy(sig)
    if kind == "typedef":
        definition = text_of(m.find("definition"))
        if definition.startswith("using "):
            return tidy(template_prefix(m) + "using " + name + " = " + mtype)
        return tidy("typedef " + mtype + " " + name)
    if kind == "enum":
        sig = ("enum class " if m.get("strong") == "yes" else "enum ") + name
        if mtype:
            sig += " : " + mtype
        return tidy(sig)
    if kind == "variable":
        sig = (("static " if m.get("static") == "yes" else "") + mtype + " " + name
               + text_of(m.find("argsstring")))
        init = text_of(m.find("initializer"))
        if init:
            sig += (" " if init.startswith("=") else "") + init
        return tidy(sig)
    return tidy((mtype + " " if mtype else "") + name)


def is_public_api(qualified_name):
    parts = qualified_name.split("::")
    return parts[0] == "dsql" and "detail" not in parts


class Header:
    def __init__(self, path):
        self.path = path
        self.description = ""
        self.includes = []
        self.members = []  # (line, signature, description, [(value, description)])
        self.classes = []  # (line, heading, description, [members])


def member_entry(m):
    values = []
    for v in m.findall("enumvalue"):
        value = text_of(v.find("name"))
        init = text_of(v.find("initializer"))
        if init:
            value += " " + init
        values.append((value, description(v)))
    line = int(m.find("location").get("line", "0"))
    return (line, member_signature(m), description(m), values)


def public_members(compound):
    out = []
    for section in compound.findall("sectiondef"):
        for m in section.findall("memberdef"):
            if m.get("prot") != "public" or m.get("kind") == "friend":
                continue
            if m.find("location") is None:
                continue
            out.append(m)
    return out


def read_xml(xml_dir):
    headers = {}

    def header(path):
        if path not in headers:
            headers[path] = Header(path)
        return headers[path]

    index = ET.parse(os.path.join(xml_dir, "index.xml")).getroot()
    for ref in index.findall("compound"):
        kind = ref.get("kind")
        if kind not in ("file", "namespace", "class", "struct", "union"):
            continue
        compound = ET.parse(os.path.join(xml_dir, ref.get("refid") + ".xml")).getroot()
        for c in compound.findall("compounddef"):
            name = text_of(c.find("compoundname"))
            if kind == "file":
                location = c.find("location")
                if location is None:
                    continue
                h = header(location.get("file"))
                h.description = description(c)
                h.includes = [text_of(i) for i in c.findall("includes")]
                for m in public_members(c):  # the global namespace's, e.g. libpq's handles
                    h.members.append(member_entry(m))
            elif kind == "namespace":
                if not is_public_api(name):
                    continue
                for m in public_members(c):
                    h = header(m.find("location").get("file"))
                    h.members.append(member_entry(m))
            else:
                if not is_public_api(name) or c.get("prot") not in (None, "public"):
                    continue
                location = c.find("location")
                heading = template_prefix(c) + kind + " " + name
                if c.get("final") == "yes":
                    heading += " final"
                bases = []
                for b in c.findall("basecompoundref"):
                    virt = "virtual " if b.get("virt") == "virtual" else ""
                    bases.append(b.get("prot", "public") + " " + virt + text_of(b))
                if bases:
                    heading += " : " + ", ".join(bases)
                members = sorted(
                    (member_entry(m) for m in public_members(c)), key=lambda e: (e[0], e[1]))
                h = header(location.get("file"))
                h.classes.append((int(location.get("line", "0")), tidy(heading), description(c),
                                  members))
    return headers


# --- Writing docs/api.md -------------------------------------------------------------------------

def md_text(text):
    """Description text for Markdown: `<` outside code spans would start an HTML tag."""
    pieces = text.split("`")
    for i in range(0, len(pieces), 2):
        pieces[i] = pieces[i].replace("<", "&lt;")
    return "`".join(pieces)


def code(signature):
    return "``" + signature + "``" if "`" in signature else "`" + signature + "`"


def anchor(title):
    return re.sub(r"[^a-z0-9_\- ]", "", title.lower()).replace(" ", "-")


def entry_lines(entry, indent=""):
    _, signature, desc, values = entry
    lines = [indent + "- " + code(signature) + (": " + md_text(desc) if desc else "")]
    for value, vdesc in values:
        lines.append(indent + "  - " + code(value) + (": " + md_text(vdesc) if vdesc else ""))
    return lines


def header_order(path):
    for i, d in enumerate(HEADER_DIRS):
        if path.startswith(d + "/"):
            return (i, path)
    return (len(HEADER_DIRS), path)


def render(headers):
    paths = sorted((p for p in headers if p.endswith(".hpp")), key=header_order)
    out = [
        "# API reference",
        "",
        "Generated by `scripts/api_docs.sh` from the comments of the public headers (through "
        "Doxygen's XML); do not edit by hand. Declarations in `dsql::detail` are the library's "
        "own and are left out. An entry without a description is not documented yet.",
        "",
    ]
    for p in paths:
        out.append("- [`%s`](#%s)" % (p, anchor(p)))
    for p in paths:
        h = headers[p]
        while out[-1] == "":
            out.pop()
        out += ["", "## `%s`" % p, ""]
        if h.description:
            out += [md_text(h.description), ""]
        if not h.members and not h.classes:
            own = [i for i in h.includes if i.startswith("dsql/")]
            if own:
                out += ["Includes " + ", ".join(code(i) for i in own) + ".", ""]
            else:
                out += ["No public declarations of its own.", ""]
            continue
        for entry in sorted(h.members, key=lambda e: (e[0], e[1])):
            out += entry_lines(entry)
        if h.members:
            out.append("")
        for _, heading, desc, members in sorted(h.classes, key=lambda c: (c[0], c[1])):
            out += ["### " + code(heading), ""]
            if desc:
                out += [md_text(desc), ""]
            for entry in members:
                out += entry_lines(entry)
            if members:
                out.append("")
    while out and out[-1] == "":
        out.pop()
    return "\n".join(out) + "\n"


# --- The checks ----------------------------------------------------------------------------------

def undocumented(warnings, headers):
    """Warnings and missing thread-safety statements in FULLY_DOCUMENTED_HEADERS."""
    problems = ["%s:%d: %s" % (f, line, text) for f, line, text in warnings
                if f in FULLY_DOCUMENTED_HEADERS]
    for path in FULLY_DOCUMENTED_HEADERS:
        for line, heading, desc, _ in headers.get(path, Header(path)).classes:
            if desc and not THREAD_SAFETY_WORDS.search(desc):
                problems.append("%s:%d: %s says nothing of thread safety (e.g. \"Thread-safe.\", "
                                "\"Not thread-safe: one thread at a time.\", \"A plain value.\")"
                                % (path, line, heading))
    return sorted(problems, key=lambda p: (p.split(":")[0], int(p.split(":")[1]), p))


def main():
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--check", action="store_true",
                        help="check the headers and docs/api.md instead of writing it")
    parser.add_argument("--work", help="directory for doxygen's output (default: a temporary one)")
    parser.add_argument("--doxygen", default=os.environ.get("DOXYGEN", "doxygen"))
    parser.add_argument("--summary", action="store_true",
                        help="also count the undocumented warnings of every header")
    args = parser.parse_args()

    doxygen = shutil.which(args.doxygen)
    if doxygen is None:
        fail("doxygen is not installed: install it (Debian: apt-get install doxygen; "
             "scripts/test.sh installs it with the project's other packages)")

    work = args.work or tempfile.mkdtemp(prefix="dsql-api-docs-")
    try:
        out_dir = os.path.join(os.path.abspath(work), "doxygen")
        shutil.rmtree(out_dir, ignore_errors=True)
        os.makedirs(out_dir)
        warnings = run_doxygen(doxygen, out_dir)
        headers = read_xml(os.path.join(out_dir, "xml"))
        markdown = render(headers)
    finally:
        if not args.work:
            shutil.rmtree(work, ignore_errors=True)

    for f, line, text in warnings:
        if not f:
            print("api_docs: doxygen: " + text, file=sys.stderr)
    if args.summary:
        counts = {}
        for f, _, text in warnings:
            if f and "is not documented" in text:
                counts[f] = counts.get(f, 0) + 1
        for f in sorted(counts):
            print("%5d %s" % (counts[f], f))
        print("%5d in all" % sum(counts.values()))

    problems = undocumented(warnings, headers)
    target = os.path.join(ROOT, API_MD)
    if not args.check:
        with open(target, "w", encoding="utf-8") as f:
            f.write(markdown)
        print("api_docs: wrote " + API_MD)
        if problems:
            print("api_docs: %d problem(s) in the fully documented headers:" % len(problems),
                  file=sys.stderr)
            print("\n".join(problems), file=sys.stderr)
            return 1
        return 0

    status = 0
    if problems:
        print("Undocumented public declarations, or classes that do not state their thread "
              "safety, in headers that must be fully documented (FULLY_DOCUMENTED_HEADERS in "
              "scripts/api_docs.py):")
        print("\n".join(problems))
        status = 1
    committed = open(target, encoding="utf-8").read() if os.path.exists(target) else ""
    if committed != markdown:
        diff = list(difflib.unified_diff(committed.splitlines(), markdown.splitlines(),
                                         API_MD + " (committed)", API_MD + " (from the headers)",
                                         lineterm=""))
        print("%s is stale: run scripts/api_docs.sh and commit the result. Difference:" % API_MD)
        print("\n".join(diff[:200]))
        if len(diff) > 200:
            print("... (%d more lines)" % (len(diff) - 200))
        status = 1
    if status == 0:
        print("api docs OK: %d headers fully documented, %s up to date"
              % (len(FULLY_DOCUMENTED_HEADERS), API_MD))
    return status


if __name__ == "__main__":
    sys.exit(main())
