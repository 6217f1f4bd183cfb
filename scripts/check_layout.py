#!/usr/bin/env python3
"""Layout checks for the privlink workspace (Python 3, standard library only).

Usage:
    scripts/check_layout.py [CHECK ...] [--root DIR] [--include-tests]
                            [--fn-dir DIR ...] [--max-fn-lines N]
    scripts/check_layout.py --self-test

CHECK is one or more of (default: cycles engine long-fns):
    cycles    no import cycle between the modules of any crate
    engine    no engine module imports reqwest, aws_sdk_*, aws_config,
              aws_smithy_* or a provider module under crate::providers::<x>
    long-fns  no fn (free fn or method) in the --fn-dir trees (default: src)
              is --max-fn-lines (default 80) lines or longer
    edges     print every module edge of every crate (information only)
Exit status: 0 when every check passes, 1 when one finds something, 2 on
usage errors. --self-test runs the checks on synthetic trees in a temp dir.

How the source is read:
  * Crates are found from every Cargo.toml under --root (default: the
    repository) with src/lib.rs, src/main.rs or src/bin/*.rs; each of those
    roots is its own module tree, followed through `mod x;` declarations
    (`x.rs` or `x/mod.rs` next to the declaring file, or in its own folder
    for a non-mod.rs file). A file src/plan/expand.rs is module plan::expand.
    Inline `mod x { ... }` blocks are folded into the file's module, but
    `super::` inside them is resolved from the inline module.
  * Comments and string/char literals are blanked first, so doc links and
    strings never count as imports or braces.
  * Test code is left out of every check unless --include-tests is given:
    items under `#[cfg(test)]` (e.g. `#[cfg(test)] mod tests { ... }`),
    modules declared `#[cfg(test)] mod x;`, files named tests.rs and files
    starting with `#![cfg(test)]`, with everything below them.

Edges (cycles, edges): a module M has an edge to module N when M names
N's items through `use crate::...`, `use super::...`, `use self::...`, a
use of a child module or of a name an earlier `use` brought in, or through
such a path written inline (`crate::a::b::f()`, `super::x::T`). An item
reached through a re-export (`pub use`, `use`, or a glob) is followed to the
module that defines it, so `use super::Error` whose parent re-exports
`error::Error` is an edge to the sibling module `error`. Edges from a module
to one of its own ancestors (a child using its parent's own items) are
dropped: that is how a Rust module tree is built and is not a cycle on its
own. Edges from a parent to its descendants are kept, so `a::b -> x -> a`
is a cycle when `a` itself uses `a::b`. A `mod x;` declaration alone is not
an edge. Each cycle is printed with the file:line of one use per edge.

Engine (engine): the files under ENGINE_PATHS below. The path as written
(after super/self are resolved) is what counts: `crate::providers::Provider`
(the seam) is allowed, `crate::providers::atlas::...` or any other path into
a submodule of `crate::providers` is not.

Long functions (long-fns): from the line of the `fn` keyword to the line of
its closing brace, both included; bodyless trait fns are skipped; closures
are not counted on their own.
"""

import argparse
import os
import re
import sys
import tempfile
import textwrap

# Files (relative to --root) that make up the engine, and the lib crate root
# whose `providers` module is the seam.
ENGINE_PATHS = ["src/config/", "src/plan/", "src/graph.rs", "src/apply.rs", "src/state/", "src/model.rs"]
ENGINE_CRATE_ROOT = "src/lib.rs"
SEAM = ("providers",)
FORBIDDEN_CRATES = re.compile(r"^(reqwest|aws_config|aws_sdk_\w+|aws_smithy_\w+)$")
SKIP_DIRS = {"target", "node_modules", ".git", ".venv"}

IDENT = r"[A-Za-z_][A-Za-z0-9_]*"


# ---------------------------------------------------------------- lexing ---

def blank(src):
    """Returns src with comments and the contents of string and char literals
    replaced by spaces (newlines kept, so offsets and lines do not move)."""
    out = list(src)
    i, n = 0, len(src)

    def wipe(a, b):
        for k in range(a, b):
            if out[k] != "\n":
                out[k] = " "

    while i < n:
        c = src[i]
        if c == "/" and src.startswith("//", i):
            j = src.find("\n", i)
            j = n if j < 0 else j
            wipe(i, j)
            i = j
        elif c == "/" and src.startswith("/*", i):
            depth, j = 1, i + 2
            while j < n and depth:
                if src.startswith("/*", j):
                    depth, j = depth + 1, j + 2
                elif src.startswith("*/", j):
                    depth, j = depth - 1, j + 2
                else:
                    j += 1
            wipe(i, j)
            i = j
        elif c in "rb" and (i == 0 or not (src[i - 1].isalnum() or src[i - 1] == "_")):
            m = re.match(r'(br|r|b)(#*)"', src[i:i + 300])
            if m and (m.group(1) != "b" or not m.group(2)):
                start = i + m.end()
                if "r" in m.group(1):
                    end = src.find('"' + m.group(2), start)
                    end = n if end < 0 else end
                    wipe(start, end)
                    i = end + 1 + len(m.group(2))
                else:
                    i = skip_string(src, start, wipe)
            else:
                i += 1
        elif c == '"':
            i = skip_string(src, i + 1, wipe)
        elif c == "'":
            if src.startswith("\\", i + 1):
                j = src.find("'", i + 3)
                j = n if j < 0 else j
                wipe(i + 1, j)
                i = j + 1
            elif i + 2 < n and src[i + 2] == "'":
                wipe(i + 1, i + 2)
                i += 3
            else:
                i += 1  # a lifetime
        else:
            i += 1
    return "".join(out)


def skip_string(src, start, wipe):
    """Blanks a "..." literal whose contents begin at start; returns the
    offset after the closing quote."""
    j = start
    while j < len(src) and src[j] != '"':
        j += 2 if src[j] == "\\" else 1
    wipe(start, min(j, len(src)))
    return j + 1


def match_brace(text, open_at):
    """Offset of the `}` closing the `{` at open_at (or len(text))."""
    depth = 0
    for k in range(open_at, len(text)):
        if text[k] == "{":
            depth += 1
        elif text[k] == "}":
            depth -= 1
            if depth == 0:
                return k
    return len(text)


def item_end(text, start):
    """End offset of the item starting at start: its matching `}` when a
    `{` comes before any `;` outside parentheses, else the `;`."""
    depth = 0
    for k in range(start, len(text)):
        ch = text[k]
        if ch in "([":
            depth += 1
        elif ch in ")]":
            depth -= 1
        elif depth <= 0 and ch == ";":
            return k
        elif depth <= 0 and ch == "{":
            return match_brace(text, k)
    return len(text)


class Lines:
    """Offset to 1-based line number."""

    def __init__(self, text):
        self.starts = [0] + [m.end() for m in re.finditer("\n", text)]

    def __call__(self, offset):
        lo, hi = 0, len(self.starts)
        while hi - lo > 1:
            mid = (lo + hi) // 2
            if self.starts[mid] <= offset:
                lo = mid
            else:
                hi = mid
        return lo + 1


# --------------------------------------------------------------- modules ---

class Module:
    def __init__(self, path, file, text, is_dir_owner, test):
        self.path = path              # tuple of segments, () for the crate root
        self.file = file              # absolute file path
        self.text = text              # blanked source
        self.is_dir_owner = is_dir_owner  # lib.rs / main.rs / mod.rs
        self.test = test              # the whole module is test code
        self.line = Lines(text)
        self.children = {}            # name -> child file module path
        self.test_spans = []          # (start, end) of #[cfg(test)] items
        self.inline = []              # (start, end, name) of inline `mod x {}`
        self.defs = set()             # names of items defined here
        self.uses = []                # UsePath
        self.imports = {}             # name -> (absolute path, offset)
        self.globs = []               # absolute paths of glob uses

    @property
    def name(self):
        return "::".join(self.path) or "crate"

    def in_test(self, offset):
        return self.test or any(a <= offset <= b for a, b in self.test_spans)

    def scope_at(self, offset):
        """Module path (with inline modules) at offset."""
        inner = sorted((a, name) for a, b, name in self.inline if a <= offset <= b)
        return self.path + tuple(name for _, name in inner)


class UsePath:
    def __init__(self, segs, alias, offset, glob, in_use):
        self.segs, self.alias, self.offset, self.glob, self.in_use = segs, alias, offset, glob, in_use


CFG_TEST = re.compile(r"#\[\s*cfg\s*\(\s*test\s*\)\s*\]")
ATTR = re.compile(r"\s*#\[")


def scan_test_spans(text):
    """Spans of items under #[cfg(test)] and names of `mod x;` declared so."""
    spans, test_mods = [], set()
    for m in CFG_TEST.finditer(text):
        k = m.end()
        while True:
            a = ATTR.match(text, k)
            if not a:
                break
            k = item_end(text, a.end() - 1) + 1
        end = item_end(text, k)
        spans.append((m.start(), end))
        d = re.match(r"\s*(?:pub(?:\([^)]*\))?\s+)?mod\s+(" + IDENT + r")\s*;", text[k:end + 1])
        if d:
            test_mods.add(d.group(1))
    return spans, test_mods


def load_crate(root_file):
    """All file modules of the crate whose root is root_file, by path."""
    mods = {}

    def visit(path, file, owner, test):
        with open(file, encoding="utf-8") as f:
            text = blank(f.read())
        test = test or os.path.basename(file) == "tests.rs" or bool(re.match(r"\s*#!\[\s*cfg\s*\(\s*test\s*\)\s*\]", text))
        mod = Module(path, file, text, owner, test)
        mods[path] = mod
        mod.test_spans, test_mods = scan_test_spans(text)
        for m in re.finditer(r"\bmod\s+(" + IDENT + r")\s*([;{])", text):
            if m.group(2) == "{":
                mod.inline.append((m.start(), match_brace(text, m.end() - 1), m.group(1)))
                continue
            if any(a < m.start() < b for a, b, _ in mod.inline):
                continue  # declared inside an inline module: not followed
            name = m.group(1)
            base = os.path.dirname(file)
            if not owner:
                base = os.path.join(base, os.path.splitext(os.path.basename(file))[0])
            for cand, cand_owner in ((os.path.join(base, name + ".rs"), False), (os.path.join(base, name, "mod.rs"), True)):
                if os.path.isfile(cand):
                    mod.children[name] = path + (name,)
                    visit(path + (name,), cand, cand_owner, test or name in test_mods or mod.in_test(m.start()))
                    break
        kinds = r"(?:struct|enum|union|trait|type|fn|const|static|mod|macro_rules!)"
        for m in re.finditer(r"\b" + kinds + r"\s+(" + IDENT + ")", text):
            if mod.scope_at(m.start()) == mod.path:
                mod.defs.add(m.group(1))

    visit((), root_file, True, False)
    return mods


def find_crates(root):
    """Root files of every crate under root (lib, main and bin targets)."""
    roots = []
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = sorted(d for d in dirnames if d not in SKIP_DIRS and not d.startswith("."))
        if "Cargo.toml" not in filenames:
            continue
        src = os.path.join(dirpath, "src")
        for name in ("lib.rs", "main.rs"):
            if os.path.isfile(os.path.join(src, name)):
                roots.append(os.path.join(src, name))
        bins = os.path.join(src, "bin")
        if os.path.isdir(bins):
            roots += sorted(os.path.join(bins, f) for f in os.listdir(bins) if f.endswith(".rs"))
    return roots


# ------------------------------------------------------------ use parsing ---

USE = re.compile(r"\buse\s+(?!<)")
TOKEN = re.compile(r"\s*(::|\{|\}|,|\*|" + IDENT + ")")


def parse_use(text, start):
    """Leaves of the use tree starting at start: list of (segs, alias,
    offset, glob). Returns (leaves, end offset)."""
    end = text.find(";", start)
    end = len(text) if end < 0 else end
    toks, k = [], start
    while k < end:
        m = TOKEN.match(text, k)
        if not m:
            break
        toks.append((m.group(1), m.start(1)))
        k = m.end()
    leaves, pos = [], [0]

    def tree(prefix):
        if pos[0] < len(toks) and toks[pos[0]][0] == "::":
            pos[0] += 1
        segs, off = list(prefix), None
        while pos[0] < len(toks):
            tok, o = toks[pos[0]]
            if tok == "{":
                pos[0] += 1
                while pos[0] < len(toks) and toks[pos[0]][0] != "}":
                    if toks[pos[0]][0] == ",":
                        pos[0] += 1
                        continue
                    tree(segs)
                pos[0] += 1
                return
            if tok == "*":
                pos[0] += 1
                leaves.append((segs, None, o, True))
                return
            if tok in (",", "}"):
                break
            pos[0] += 1
            if tok == "as":
                alias = toks[pos[0]][0] if pos[0] < len(toks) else None
                pos[0] += 1
                leaves.append((segs, alias, off, False))
                return
            if tok != "::":
                if tok == "self" and segs:
                    off = o
                    continue
                segs.append(tok)
                off = o
        if segs:
            leaves.append((segs, None, off if off is not None else start, False))

    tree([])
    return leaves, end


def absolute(mod, mods, segs, offset, aliases):
    """Absolute path (tuple) of segs written in mod at offset, or None when
    it names an outside crate."""
    scope = list(mod.scope_at(offset))
    first = segs[0]
    if first == "crate":
        return tuple(segs[1:])
    if first == "self":
        return tuple(scope + segs[1:])
    if first == "super":
        k = 0
        while k < len(segs) and segs[k] == "super":
            if scope:
                scope.pop()
            k += 1
        return tuple(scope + segs[k:])
    here = tuple(scope)
    if here in mods and first in mods[here].children:
        return here + tuple(segs)
    if first in aliases:
        return aliases[first] + tuple(segs[1:])
    return None


def module_prefix(mods, path):
    """Longest prefix of path that is a file module, and the rest."""
    for k in range(len(path), -1, -1):
        if path[:k] in mods:
            return path[:k], path[k:]
    return (), path


def collect_uses(mods):
    """Fills mod.uses and mod.imports for every module of one crate."""
    for mod in mods.values():
        text, spans = mod.text, []
        raw = []
        for m in USE.finditer(text):
            leaves, end = parse_use(text, m.end())
            spans.append((m.start(), end))
            raw += leaves
        # Names brought in by use statements, resolved in two passes so that
        # `use crate::a; use a::b;` works.
        aliases = {}
        for _ in range(2):
            for segs, alias, off, glob in raw:
                if glob or not segs:
                    continue
                path = absolute(mod, mods, segs, off, aliases)
                if path is not None:
                    aliases[alias or segs[-1]] = path
        for segs, alias, off, glob in raw:
            mod.uses.append(UsePath(segs, alias, off, glob, True))
            path = absolute(mod, mods, segs, off, aliases)
            if path is None or mod.scope_at(off) != mod.path:
                continue
            if glob:
                mod.globs.append(path)
            elif alias != "_":
                mod.imports[alias or segs[-1]] = path
        inline = re.compile(r"(?<![\w:$#])(?:::)?(" + IDENT + r"(?:\s*::\s*" + IDENT + r")+)")
        for m in inline.finditer(text):
            if any(a <= m.start() <= b for a, b in spans):
                continue
            segs = [s.strip() for s in m.group(1).split("::")]
            mod.uses.append(UsePath(segs, None, m.start(1), False, False))
        mod.aliases = aliases


def resolve_item(mods, path, seen=None):
    """Module that defines the item at absolute path, following re-exports."""
    seen = seen or set()
    modpath, rest = module_prefix(mods, path)
    if not rest or path in seen:
        return modpath
    seen.add(path)
    mod, name = mods[modpath], rest[0]
    if name in mod.defs:
        return modpath
    if name in mod.imports:
        return resolve_item(mods, mod.imports[name] + rest[1:], seen)
    for g in mod.globs:
        target = resolve_item(mods, g + rest, seen)
        if target != module_prefix(mods, g)[0] or rest[0] in mods.get(target, mod).defs:
            return target
    return modpath


def edges(mods, include_tests):
    """{(from, to): (file, line, written path)} between file modules."""
    out = {}
    for mod in mods.values():
        for use in mod.uses:
            if not include_tests and mod.in_test(use.offset):
                continue
            path = absolute(mod, mods, use.segs, use.offset, mod.aliases)
            if path is None:
                continue
            target = resolve_item(mods, path)
            if target == mod.path or mod.path[:len(target)] == target:
                continue  # itself, or one of its ancestors
            if not include_tests and mods[target].test:
                continue
            key = (mod.path, target)
            if key not in out:
                out[key] = (mod.file, mod.line(use.offset), "::".join(use.segs))
    return out


# ---------------------------------------------------------------- checks ---

def rel(root, file):
    return os.path.relpath(file, root)


def crate_label(root, root_file):
    return rel(root, root_file)


def find_cycles(graph):
    """One shortest cycle per strongly connected component (Tarjan)."""
    index, low, stack, on, comps, counter = {}, {}, [], set(), [], [0]
    sys.setrecursionlimit(10000)

    def strong(v):
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on.add(v)
        for w in sorted(graph.get(v, ())):
            if w not in index:
                strong(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                comps.append(set(comp))

    for v in sorted(graph):
        if v not in index:
            strong(v)
    cycles = []
    for comp in comps:
        start = min(comp)
        prev, queue = {start: None}, [start]
        found = None
        while queue and not found:
            nxt = []
            for v in queue:
                for w in sorted(graph.get(v, ())):
                    if w not in comp:
                        continue
                    if w == start:
                        found = v
                        break
                    if w not in prev:
                        prev[w] = v
                        nxt.append(w)
                if found:
                    break
            queue = nxt
        cycle, v = [], found
        while v is not None:
            cycle.append(v)
            v = prev[v]
        cycle.reverse()
        cycles.append((cycle, sorted(comp)))
    return cycles


def check_cycles(root, include_tests, show_edges, out):
    failed = False
    for root_file in find_crates(root):
        mods = load_crate(root_file)
        collect_uses(mods)
        es = edges(mods, include_tests)
        label = crate_label(root, root_file)
        name = lambda p: "::".join(p) or "crate"
        if show_edges:
            for (a, b), (file, line, written) in sorted(es.items()):
                out.append(f"{label}: {name(a)} -> {name(b)}  ({rel(root, file)}:{line} {written})")
        graph = {}
        for a, b in es:
            graph.setdefault(a, set()).add(b)
        for cycle, comp in find_cycles(graph):
            failed = True
            ring = cycle + [cycle[0]]
            out.append(f"cycle in {label}: " + " -> ".join(name(p) for p in ring))
            for a, b in zip(ring, ring[1:]):
                file, line, written = es[(a, b)]
                out.append(f"    {name(a)} -> {name(b)}: {rel(root, file)}:{line} {written}")
            if len(comp) > len(cycle):
                out.append("    (same tangle: " + ", ".join(name(p) for p in comp) + ")")
    return failed


def is_engine(root, file):
    r = rel(root, file).replace(os.sep, "/")
    return any(r == p or (p.endswith("/") and r.startswith(p)) for p in ENGINE_PATHS)


def check_engine(root, include_tests, out):
    lib = os.path.join(root, ENGINE_CRATE_ROOT)
    if not os.path.isfile(lib):
        return False
    mods = load_crate(lib)
    collect_uses(mods)
    found = []
    for mod in sorted(mods.values(), key=lambda m: m.file):
        if not is_engine(root, mod.file):
            continue
        for use in sorted(mod.uses, key=lambda u: u.offset):
            if not include_tests and mod.in_test(use.offset):
                continue
            written = "::".join(use.segs)
            path = absolute(mod, mods, use.segs, use.offset, mod.aliases)
            what = None
            if path is None and FORBIDDEN_CRATES.match(use.segs[0]):
                what = f"crate {use.segs[0]}"
            elif path is not None and path[:len(SEAM)] == SEAM and len(path) > len(SEAM):
                modpath, _ = module_prefix(mods, path)
                if len(modpath) > len(SEAM) and modpath[:len(SEAM)] == SEAM:
                    what = "provider module crate::" + "::".join(modpath[:len(SEAM) + 1])
            if what:
                found.append(f"{rel(root, mod.file)}:{mod.line(use.offset)}: {written} ({what})")
    for line in dict.fromkeys(found):
        out.append("engine import: " + line)
    return bool(found)


FN = re.compile(r"\bfn\s+(" + IDENT + r")")


def long_fns(root, dirs, include_tests, limit):
    """(length, file, line, name) of every fn of limit lines or more."""
    found = []
    for d in dirs:
        for dirpath, dirnames, filenames in os.walk(os.path.join(root, d)):
            dirnames[:] = sorted(x for x in dirnames if x not in SKIP_DIRS)
            for f in sorted(filenames):
                if not f.endswith(".rs") or (f == "tests.rs" and not include_tests):
                    continue
                file = os.path.join(dirpath, f)
                with open(file, encoding="utf-8") as fh:
                    text = blank(fh.read())
                if not include_tests and re.match(r"\s*#!\[\s*cfg\s*\(\s*test\s*\)\s*\]", text):
                    continue
                spans = [] if include_tests else scan_test_spans(text)[0]
                line = Lines(text)
                for m in FN.finditer(text):
                    if any(a <= m.start() <= b for a, b in spans):
                        continue
                    end = item_end(text, m.end())
                    if end >= len(text) or text[end] != "}":
                        continue  # no body
                    length = line(end) - line(m.start()) + 1
                    if length >= limit:
                        found.append((length, rel(root, file), line(m.start()), m.group(1)))
    found.sort(key=lambda t: (-t[0], t[1], t[2]))
    return found


def check_long_fns(root, dirs, include_tests, limit, out):
    found = long_fns(root, dirs, include_tests, limit)
    for length, file, line, name in found:
        out.append(f"long fn: {file}:{line}: fn {name} is {length} lines (limit: under {limit})")
    return bool(found)


def run(argv, out):
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("checks", nargs="*", metavar="CHECK", help="cycles, engine, long-fns or edges")
    p.add_argument("--root", default=os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    p.add_argument("--include-tests", action="store_true")
    p.add_argument("--fn-dir", action="append", dest="fn_dirs")
    p.add_argument("--max-fn-lines", type=int, default=80)
    p.add_argument("--self-test", action="store_true")
    a = p.parse_args(argv)
    if a.self_test:
        return self_test()
    checks = a.checks or ["cycles", "engine", "long-fns"]
    unknown = set(checks) - {"cycles", "engine", "long-fns", "edges"}
    if unknown:
        p.error("unknown check: " + ", ".join(sorted(unknown)))
    root = os.path.abspath(a.root)
    failed = False
    if "cycles" in checks or "edges" in checks:
        failed |= check_cycles(root, a.include_tests, "edges" in checks, out)
    if "engine" in checks:
        failed |= check_engine(root, a.include_tests, out)
    if "long-fns" in checks:
        failed |= check_long_fns(root, a.fn_dirs or ["src"], a.include_tests, a.max_fn_lines, out)
    return 1 if failed else 0


# ------------------------------------------------------------- self-test ---

def write_tree(base, files):
    for path, body in files.items():
        full = os.path.join(base, path)
        os.makedirs(os.path.dirname(full), exist_ok=True)
        with open(full, "w", encoding="utf-8") as f:
            f.write(textwrap.dedent(body))


def long_body(n):
    """A fn spanning exactly n lines."""
    return "pub fn long() {\n" + "    let _x = 1;\n" * (n - 2) + "}\n"


CLEAN = {
    "Cargo.toml": "[package]\nname = \"demo\"\n",
    "src/lib.rs": """\
        //! Root. A doc link to [`crate::plan::Plan`] is not an edge.
        pub mod model;
        pub mod plan;
        pub mod providers;
        pub mod state;
        """,
    "src/model.rs": "pub struct Address;\n",
    "src/plan/mod.rs": """\
        mod expand;
        pub use expand::Plan;
        use crate::providers::Provider;
        pub struct Action { a: crate::model::Address }
        #[cfg(test)]
        mod tests;
        """,
    "src/plan/expand.rs": """\
        use super::Action;
        pub struct Plan(Vec<Action>);
        pub fn s() -> &'static str { "crate::state::X } {" }
        """,
    "src/plan/tests.rs": "use crate::providers::atlas::Client;\nfn t() { let _ = reqwest::get; }\n",
    "src/state/mod.rs": """\
        pub mod error;
        pub mod lock;
        pub use error::StateError;
        pub struct StateFile;
        """,
    "src/state/error.rs": "pub struct StateError;\n",
    "src/state/lock.rs": "use super::StateError;\nuse super::StateFile;\n",
    "src/providers/mod.rs": """\
        pub mod atlas;
        use crate::plan::Plan;
        pub trait Provider {}
        """,
    "src/providers/atlas/mod.rs": "use reqwest::Client as C;\npub struct Client;\n",
    "src/main.rs": "fn main() { demo::plan::run(); }\n",
}


def self_test():
    cases = []

    def case(name, patch, check, want_fail, want):
        cases.append((name, patch, check, want_fail, want))

    case("clean tree passes cycles", {}, "cycles", False, [])
    case("clean tree passes engine", {}, "engine", False, [])
    case("clean tree passes long-fns", {"src/model.rs": "pub struct Address;\n" + long_body(79)}, "long-fns", False, [])
    case("sibling cycle is found", {"src/model.rs": "pub struct Address;\nfn f(_: crate::state::StateFile) {}\n",
                                    "src/state/mod.rs": CLEAN["src/state/mod.rs"] + "use crate::model::Address;\n"},
         "cycles", True, ["cycle in src/lib.rs: model -> state -> model"])
    case("cycle hidden behind a re-export is found",
         {"src/state/error.rs": "use super::lock::Info;\npub struct StateError;\n",
          "src/state/lock.rs": "use super::StateError;\npub struct Info;\n"},
         "cycles", True, ["cycle in src/lib.rs: state::error -> state::lock -> state::error"])
    case("super:: to a sibling counts",
         {"src/plan/mod.rs": "mod a;\nmod b;\n", "src/plan/a.rs": "pub struct A(super::b::B);\n",
          "src/plan/b.rs": "pub struct B;\nfn f() { let _ = super::a::A; }\n"},
         "cycles", True, ["cycle in src/lib.rs: plan::a -> plan::b -> plan::a"])
    case("cycle through a parent that uses its child",
         {"src/plan/mod.rs": CLEAN["src/plan/mod.rs"],
          "src/plan/expand.rs": "use crate::state::StateFile;\npub struct Plan;\n",
          "src/state/mod.rs": CLEAN["src/state/mod.rs"] + "use crate::plan::Action;\n"},
         "cycles", True, ["cycle in src/lib.rs: plan -> plan::expand -> state -> plan"])
    case("forbidden imports are found",
         {"src/plan/expand.rs": "use reqwest::Client;\nuse crate::providers::{Provider, atlas::Client as A};\n"
                                "pub struct Plan;\nfn f() { let _ = aws_sdk_ec2::Client::new; }\n"},
         "engine", True, ["engine import: src/plan/expand.rs:1: reqwest::Client (crate reqwest)",
                          "engine import: src/plan/expand.rs:2: crate::providers::atlas::Client "
                          "(provider module crate::providers::atlas)",
                          "engine import: src/plan/expand.rs:4: aws_sdk_ec2::Client::new (crate aws_sdk_ec2)"])
    case("long fn is found, tests are not",
         {"src/model.rs": "pub struct Address;\nimpl Address {\n    " + long_body(80).replace("\n", "\n    ")
          + "}\n#[cfg(test)]\nmod tests {\n" + long_body(90) + "}\n"},
         "long-fns", True, ["long fn: src/model.rs:3: fn long is 80 lines (limit: under 80)"])
    failures = 0
    for name, patch, check, want_fail, want in cases:
        with tempfile.TemporaryDirectory() as tmp:
            files = dict(CLEAN)
            files.update(patch)
            write_tree(tmp, files)
            out = []
            code = run([check, "--root", tmp], out)
        ok = (code == 1) == want_fail and out[:len(want)] == want and (want_fail or not out)
        failures += not ok
        print(("ok      " if ok else "FAILED  ") + name)
        if not ok:
            print("    exit", code, "output:", *out, sep="\n    ")
    print(f"{len(cases) - failures} passed, {failures} failed")
    return 1 if failures else 0


def main():
    out = []
    code = run(sys.argv[1:], out)
    for line in out:
        print(line)
    return code


if __name__ == "__main__":
    sys.exit(main())
