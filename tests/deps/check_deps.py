#!/usr/bin/env python3
"""Every header, CMake package and command the project uses comes from a Debian package that
scripts/install-deps.sh installs, or that a bare Debian 12 (debootstrap --variant=minbase) has.

Why: on a fresh Debian 12, ./scripts/test.sh failed on bench/durable_bench.cpp's
<valgrind/callgrind.h> (issue 19). Our machines had valgrind, so nothing noticed that no install
step brought it. This check notices on any Debian machine, as a ctest test (dependency_check).

Usage: tests/deps/check_deps.py [-v] [SOURCE_DIR]   (-v lists every item and its package)

Allowed: the packages of the `packages=( ... )` array of scripts/install-deps.sh (read from the
script: the list has one home), apt, and the installed Essential and Priority-required packages,
closed over Depends and Pre-Depends (what `apt-get install --no-install-recommends` brings) as
dpkg-query shows them here. Checked, each against the packages owning it (dpkg's file lists, with
symlinks and /etc/alternatives followed):
  - every #include of the tracked C++ sources that is no file of the checkout, on g++'s include
    path (an include its file guards with __has_include is optional and skipped);
  - find_package (config file, or CMake's Find module and what it finds), pkg_check_modules
    (.pc file), find_path and find_library of the CMake files;
  - the commands the scripts, benchmarks and tests run: the command positions of the shell
    scripts (a small tokenizer), subprocess calls of the Python ones, the string literals that C++
    hands to system/popen/exec* or to the project's wrappers of them, `cmd --option` quoted in
    C++ comments (how to run a benchmark), the COMMAND of CMake rules, the scripts' interpreters.
Exit 0 when everything is allowed; 1 with one line per problem and the package to add.
"""

import ast
import glob
import os
import re
import shutil
import subprocess
import sys

# Commands the scripts use only when present, or only when not run as root.
OPTIONAL_COMMANDS = {"sudo", "ccache"}
# What a Find module that CMake ships (package cmake-data) looks for, checked besides the module.
MODULE_NEEDS = {"Threads": ("header", "pthread.h"), "PkgConfig": ("command", "pkg-config"),
                "OpenSSL": ("pc", "openssl"), "Boost": ("boost", None)}
SOURCE_DIRS = {"actors", "core", "config", "runtime", "persistence", "gateway", "tools", "tests",
               "bench"}
DEFAULT_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"  # a fresh root's

SHELL_KEYWORDS = {"if", "then", "else", "elif", "fi", "while", "until", "do", "done", "esac",
                  "!", "{", "}", "time", "exec", "builtin", "in"}
SHELL_NOT_COMMANDS = set(
    "[[ ]] [ for select case function test : . source alias bg bind break caller cd compgen "
    "complete continue declare dirs disown echo enable eval exit export false fc fg getopts hash "
    "help history jobs kill let local logout mapfile popd printf pushd pwd read readarray "
    "readonly return set shift shopt suspend trap true type typeset ulimit umask unalias unset "
    "wait".split())
# Commands that run the rest of their line as a command: their options that take a value.
SHELL_PREFIXES = {"timeout": {"-s", "-k"}, "env": {"-u", "-C", "-S"}, "nohup": set(),
                  "setsid": set(), "nice": {"-n"}, "sudo": {"-u", "-g", "-p", "-C", "-D", "-h"},
                  "/usr/bin/time": {"-f", "-o"}}
ASSIGNMENT = re.compile(r"[A-Za-z_]\w*(\[[^]]*\])?\+?=")
PROCESS_CALLS = {"system", "popen", "execl", "execlp", "execle", "execv", "execvp", "execvpe",
                 "posix_spawn", "posix_spawnp"}
DYNAMIC = "@@"  # stands for a part of a C++ string expression that is not a literal
LITERAL = re.compile(r'"(?:\\.|[^"\\\n])*"|\'(?:\\.|[^\'\\\n]){1,4}\'')  # C++ string or char
EXPRESSION = re.compile(r"(?:%s|[^;\"'])*" % LITERAL.pattern)  # up to the ; that ends it


def fail(message):
    print(f"check_deps: {message}")
    sys.exit(1)


def read(root, rel):
    with open(os.path.join(root, rel), encoding="utf-8", errors="replace") as f:
        return f.read()


def output(argv):
    return subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                          check=False).stdout


# ---- packages -------------------------------------------------------------------------------

def listed_packages(root):
    m = re.search(r"^packages=\((.*?)^\)", read(root, "scripts/install-deps.sh"), re.S | re.M)
    if not m:
        fail("no `packages=( ... )` array in scripts/install-deps.sh")
    return [w for line in m.group(1).splitlines() for w in line.split("#")[0].split()]


def installed_packages():
    """{name: {"root": essential or required, "provides": [...], "depends": [[alternatives]]}}"""
    fields = ["${db:Status-Status}", "${Package}", "${Essential}", "${Priority}", "${Provides}",
              "${Depends}", "${Pre-Depends}"]
    out = subprocess.run(["dpkg-query", "-W", "-f", "\x1f".join(fields) + "\n"],
                         stdout=subprocess.PIPE, text=True, check=True).stdout
    pkgs = {}
    for line in out.splitlines():
        status, name, essential, priority, provides, depends, pre = line.split("\x1f")
        if status == "installed":  # one entry for all architectures of a package
            p = pkgs.setdefault(name, {"root": False, "provides": [], "depends": []})
            p["root"] |= essential == "yes" or priority == "required"
            p["provides"] += [alts[0] for alts in relations(provides)]
            p["depends"] += relations(depends) + relations(pre)
    return pkgs


def relations(field):
    """'a (>= 1) | b:any, c' -> [['a', 'b'], ['c']]: names without versions or qualifiers."""
    return [[re.split(r"[\s(:\[<]", alt.strip(), maxsplit=1)[0] for alt in group.split("|")]
            for group in field.split(",") if group.strip()]


def closure(roots, pkgs):
    """The installed packages that installing roots brings, following Depends/Pre-Depends.
    Of alternatives `a | b`, apt takes a: a when it is installed here, else those that are (real
    packages, or installed ones that Provide the name)."""
    providers = {}
    for name, p in pkgs.items():
        for virtual in p["provides"]:
            providers.setdefault(virtual, set()).add(name)

    def resolve(group):
        if group[0] in pkgs:
            return {group[0]}
        return {n for alt in group for n in ({alt} & pkgs.keys()) | providers.get(alt, set())}

    done, todo = set(), [n for r in roots for n in resolve([r])]
    while todo:
        name = todo.pop()
        if name not in done:
            done.add(name)
            todo += [n for group in pkgs[name]["depends"] for n in resolve(group)]
    return done


def dpkg_owners():
    """{path: {package}} from dpkg's file lists (one read instead of a dpkg -S per path)."""
    owners = {}
    for lst in glob.glob("/var/lib/dpkg/info/*.list"):
        pkg = os.path.basename(lst)[:-len(".list")].split(":")[0]
        with open(lst, encoding="utf-8", errors="replace") as f:
            for path in f.read().splitlines():
                owners.setdefault(path, set()).add(pkg)
    return owners


class Checker:
    def __init__(self, listed, pkgs):
        self.pkgs, self.owners = pkgs, dpkg_owners()
        self.allowed = closure(set(listed) | {"apt"} | {n for n, p in pkgs.items() if p["root"]},
                               pkgs)
        self.checked = {"header": {}, "cmake": {}, "command": {}}  # name -> package
        self.problems = {}  # (kind, name) -> (message, [where])

    def owned(self, path):
        """The package owning path, on a merged /usr also as /bin/x for /usr/bin/x."""
        path = os.path.normpath(path)
        m = re.match(r"/usr(/(?:s?bin|lib\w*)/.*)", path)
        other = m.group(1) if m else re.sub(r"^/((?:s?bin|lib\w*)/)", r"/usr/\1", path)
        return self.owners.get(path) or self.owners.get(other) or set()

    def file(self, kind, name, path, where):
        """name, found at path: each package owning path or a link on its way must be allowed."""
        chain = [path]
        while os.path.islink(chain[-1]) and len(chain) < 20:
            chain.append(os.path.normpath(os.path.join(os.path.dirname(chain[-1]),
                                                       os.readlink(chain[-1]))))
        owned = [(p, self.owned(p)) for p in chain if self.owned(p)]
        if not owned:
            self.problem(kind, name, where, f"{path} belongs to no Debian package (installed by "
                         "hand?): the project must use it from a package install-deps.sh installs")
        for p, pkgs in owned:
            if not pkgs & self.allowed:
                pkg = self.to_add(sorted(pkgs)[0], name)
                self.problem(kind, name, where, f"{p} comes from {sorted(pkgs)[0]}, which "
                             f"scripts/install-deps.sh does not install: add {pkg} to "
                             "scripts/install-deps.sh")
                return
        self.checked[kind][name] = ", ".join(sorted(owned[-1][1])) if owned else "-"

    def to_add(self, pkg, name):
        """The package to list: one named like the command when it brings pkg (python3 for
        /usr/bin/python3 of python3-minimal), else pkg."""
        base = os.path.basename(name)
        return base if base in self.pkgs and pkg in closure([base], self.pkgs) else pkg

    def missing(self, kind, name, where, what):
        self.problem(kind, name, where, f"{what} not found on this machine; no installed "
                     "package provides it")

    def problem(self, kind, name, where, message):
        self.checked[kind].setdefault(name, "-")
        self.problems.setdefault((kind, name), (message, []))[1].append(where)


# ---- headers --------------------------------------------------------------------------------

def include_path():
    out = output(["g++", "-xc++", "-E", "-v", "/dev/null"])
    m = re.search(r"#include <\.\.\.> search starts here:\n(.*?)End of search list", out, re.S)
    if not m:
        fail("cannot read g++'s include path (g++ -xc++ -E -v /dev/null):\n" + out)
    return [os.path.normpath(d.strip()) for d in m.group(1).splitlines() if d.strip()]


def check_headers(root, sources, files, checker, search):
    # A file of the checkout: beside the includer, or a path under some dir of the checkout
    # (runtime/include/bazaar/..., tests/support/...).
    suffixes = {f.split("/", k)[k] for f in files for k in range(1, f.count("/") + 1)}
    for rel in sources:
        text = read(root, rel)
        optional = set(re.findall(r"__has_include\s*\(\s*[<\"]([^>\"]+)[>\"]", text))
        for n, line in enumerate(text.splitlines(), 1):
            m = re.match(r"\s*#\s*include\s*[<\"]([^>\"]+)[>\"]", line)
            if not m or m.group(1) in optional or m.group(1) in suffixes or \
                    os.path.normpath(os.path.join(os.path.dirname(rel), m.group(1))) in files:
                continue
            check_header(m.group(1), f"{rel}:{n}", checker, search)


def check_header(name, where, checker, search, kind="header"):
    found = next((os.path.join(d, name) for d in search if os.path.isfile(os.path.join(d, name))),
                 None)
    if found:
        checker.file(kind, name, found, where)
    else:
        checker.missing(kind, name, where, f"<{name}>")


# ---- CMake ----------------------------------------------------------------------------------

def check_cmake(root, cmake_files, files, checker, search):
    arch = output(["g++", "-print-multiarch"]).strip() or "x86_64-linux-gnu"
    for rel in cmake_files:
        text = re.sub(r"(?m)^\s*#.*$", "", read(root, rel))
        loops = {v: words(items) for v, items in re.findall(r"foreach\s*\(\s*(\w+)\s+([^)]*)\)",
                                                            text)}
        for m in re.finditer(r"\b(find_package|pkg_check_modules|pkg_search_module|find_path|"
                             r"find_library)\s*\(([^)]*)\)", text):
            where = f"{rel}:{text.count(chr(10), 0, m.start()) + 1}"
            call, args = m.group(1), words(m.group(2))
            names = [w for w in args[1:] if not w.isupper()]  # without REQUIRED, NAMES, ...
            if call == "find_package":
                check_find_package(args, where, checker, arch, files, search)
            elif call.startswith("pkg_"):
                for module in names:
                    check_pc(re.split(r"[<>=]", module)[0], where, checker, arch)
            else:  # find_path(VAR name...) / find_library(VAR [NAMES] name...)
                for name in expand(names[:1], loops):
                    if call == "find_path":
                        check_header(name, where, checker, search, "cmake")
                    else:
                        check_in_dirs(f"lib{name}.so", [f"/usr/local/lib/{arch}", "/usr/local/lib",
                                      f"/usr/lib/{arch}", "/usr/lib"], where, checker)


def words(args):
    return [w.strip('"') for w in re.findall(r'"[^"]*"|[^\s"]+', args)]


def expand(names, loops):
    """${var} of an enclosing foreach expanded; a name with another variable is skipped."""
    out = []
    for name in names:
        v = re.search(r"\$\{(\w+)\}", name)
        if not v:
            out.append(name)
        elif v.group(1) in loops:
            out += expand([name.replace(v.group(0), x) for x in loops[v.group(1)]], loops)
    return out


def check_find_package(args, where, checker, arch, files, search):
    name, rest = args[0], args[1:]
    config = config_file(name, arch)
    if "CONFIG" not in rest and "NO_MODULE" not in rest:  # module mode first
        if any(f.endswith(f"/Find{name}.cmake") for f in files):
            return  # a module of the project's own
        modules = glob.glob(f"/usr/share/cmake*/Modules/Find{name}.cmake")
        if modules:
            checker.file("cmake", f"Find{name}.cmake", modules[0], where)
            kind, what = MODULE_NEEDS.get(name, ("config", None))
            if kind == "header":
                check_header(what, where, checker, search, "cmake")
            elif kind == "command":
                check_command(what, where, checker)
            elif kind == "pc":
                check_pc(what, where, checker, arch)
            elif kind == "boost":
                check_boost(rest, where, checker, arch)
            elif config:  # another module: the package's config file, when it has one
                checker.file("cmake", f"find_package({name})", config, where)
            return
    if config:
        checker.file("cmake", f"find_package({name})", config, where)
    else:
        checker.missing("cmake", f"find_package({name})", where,
                        f"{name}Config.cmake or {name.lower()}-config.cmake")


def config_file(name, arch):
    """Config mode: <prefix>/(lib/<arch>|lib|share)/(cmake/)<name>*/(cmake/)<name>Config.cmake"""
    for d in (f"/usr/lib/{arch}", "/usr/lib", "/usr/share", "/usr/local/lib", "/usr/local/share"):
        for pattern in (f"{d}/cmake/{name}*/", f"{d}/{name}*/", f"{d}/{name}*/cmake/"):
            for found in glob.glob(pattern + f"{name}Config.cmake") + \
                    glob.glob(pattern + f"{name.lower()}-config.cmake"):
                return found
    return None


def check_boost(rest, where, checker, arch):
    """BoostConfig.cmake of the newest Boost here, at least the version asked for, and the
    boost_<component>-config.cmake of each component."""
    def version(path):
        return [int(x) for x in re.findall(r"\d+", path.split("Boost-")[-1])]
    wanted = next((version("Boost-" + w) for w in rest if re.fullmatch(r"[\d.]+", w)), [0])
    configs = sorted((c for c in glob.glob(f"/usr/lib/{arch}/cmake/Boost-*/BoostConfig.cmake")
                      if version(c) >= wanted), key=version)
    if not configs:
        return checker.missing("cmake", "Boost", where, f"BoostConfig.cmake (Boost >= {wanted})")
    checker.file("cmake", "BoostConfig.cmake", configs[-1], where)
    have = os.path.basename(os.path.dirname(configs[-1]))[len("Boost-"):]
    components = rest[rest.index("COMPONENTS") + 1:] if "COMPONENTS" in rest else []
    for c in components[:next((i for i, w in enumerate(components) if w.isupper()), None)]:
        check_in_dirs(f"boost_{c}-{have}/boost_{c}-config.cmake", [f"/usr/lib/{arch}/cmake"],
                      where, checker)


def check_pc(module, where, checker, arch):
    check_in_dirs(f"{module}.pc", [f"/usr/local/lib/{arch}/pkgconfig", "/usr/local/lib/pkgconfig",
                  "/usr/local/share/pkgconfig", f"/usr/lib/{arch}/pkgconfig", "/usr/lib/pkgconfig",
                  "/usr/share/pkgconfig"], where, checker)


def check_in_dirs(name, dirs, where, checker):
    found = next((os.path.join(d, name) for d in dirs if os.path.isfile(os.path.join(d, name))),
                 None)
    if found:
        checker.file("cmake", name, found, where)
    else:
        checker.missing("cmake", name, where, f"{name} (in {' '.join(dirs)})")


# ---- commands -------------------------------------------------------------------------------

def check_command(name, where, checker):
    """Looked up on Debian's default PATH, as a fresh machine would (not ~/.pyenv and the like)."""
    path = (name if os.path.exists(name) else None) if name.startswith("/") else \
        shutil.which(name, path=DEFAULT_PATH)
    if path:
        checker.file("command", name, path, where)
    else:
        elsewhere = shutil.which(name)
        checker.missing("command", name, where, f"command `{name}`" +
                        (f" (only {elsewhere}, off {DEFAULT_PATH})" if elsewhere else ""))


def without_heredocs(src):
    """The shell source with here-document bodies blanked (lines kept, for line numbers)."""
    out, pending = [], []
    for line in src.split("\n"):
        if pending:
            out.append("")
            if line.strip() == pending[0]:
                pending.pop(0)
            continue
        out.append(line)
        pending += [m.group(2) for m in re.finditer(r"(?<!<)<<-?\s*(['\"]?)([A-Za-z_]\w*)\1",
                                                    line)]
    return "\n".join(out)


def lex(s, out, i=0, line=1, closer=None):
    """Splits shell source into simple commands, appended to out as lists of (word, line): quotes
    removed, expansions kept as $...; the commands of $( ), <( ) and backticks are commands of
    their own. Returns (position after the closer, line)."""
    st = {"cmd": [], "word": None, "wline": line, "skip": False, "test": False}
    case, depth = [], 0  # case: per open `case`, "head" (before `in`), "pattern" or "body"

    def add(text):
        if st["word"] is None:
            st["word"], st["wline"] = "", line
        st["word"] += text

    def end_word():
        w, st["word"] = st["word"], None
        state = case[-1] if case else "body"
        if w is None:
            return
        if st["skip"]:  # the target of a redirection
            st["skip"] = False
        elif state == "head":
            case[-1] = "pattern" if w == "in" else "head"
        elif state == "pattern":
            if w == "esac":
                case.pop()
        elif w == "case" and all(x in SHELL_KEYWORDS for x, _ in st["cmd"]):
            case.append("head")
        elif w == "esac" and case and not st["cmd"]:
            case.pop()
        else:
            st["test"] = (st["test"] or w == "[[") and w != "]]"
            st["cmd"].append((w, st["wline"]))

    def end_cmd():
        end_word()
        if st["cmd"]:
            out.append(st["cmd"])
        st["cmd"], st["test"] = [], False

    def nested(j, end):  # $( ... ), `...`, <( ... )
        nonlocal line
        j, line = lex(s, out, j, line, end)
        add("$(...)")
        return j

    def balanced(j, opening, closing, level):  # the rest of ${ ... } or $(( ... ))
        nonlocal line
        start = j
        while j < len(s) and level:
            if s.startswith("$(", j) and not s.startswith("$((", j):
                j, line = lex(s, out, j + 2, line, ")")
                continue
            level += (s[j] == opening) - (s[j] == closing)
            line += s[j] == "\n"
            j += 1
        return j, s[start:j]

    def dollar(j):
        if s.startswith("$((", j):
            j, text = balanced(j + 3, "(", ")", 2)
            add("$((" + text)
        elif s.startswith("$(", j):
            j = nested(j + 2, ")")
        elif s.startswith("${", j):
            j, text = balanced(j + 2, "{", "}", 1)
            add("${" + text)
        else:
            add("$")
            j += 1
        return j

    while i < len(s):
        c = s[i]
        if c == "`" and closer == "`":
            break
        if c == "\\":  # an escaped character, or a line continued
            if s[i + 1:i + 2] == "\n":
                line += 1
            else:
                add(s[i + 1:i + 2])
            i += 2
        elif c == "\n":
            end_cmd()
            line += 1
            i += 1
        elif c in " \t":
            end_word()
            i += 1
        elif c == "#" and st["word"] is None:  # a comment
            i = s.find("\n", i) if "\n" in s[i:] else len(s)
        elif c == "'":
            j = s.find("'", i + 1) if "'" in s[i + 1:] else len(s)
            add(s[i + 1:j])
            line += s.count("\n", i, j)
            i = j + 1
        elif c == '"':
            add("")
            i += 1
            while i < len(s) and s[i] != '"':
                if s[i] == "\\":
                    add(s[i + 1:i + 2])
                    i += 2
                elif s[i] == "$":
                    i = dollar(i)
                elif s[i] == "`":
                    i = nested(i + 1, "`")
                else:
                    line += s[i] == "\n"
                    add(s[i])
                    i += 1
            i += 1
        elif c == "$":
            i = dollar(i)
        elif c == "`":
            i = nested(i + 1, "`")
        elif st["test"] and c in "&|<>()!":  # operators of a [[ ]] test
            end_word()
            i += 1
        elif c in "<>" and s[i + 1:i + 2] == "(":
            i = nested(i + 2, ")")
        elif c in "<>" or s.startswith("&>", i):  # a redirection: its target is no command
            if st["word"] is not None and st["word"].isdigit():
                st["word"] = None  # the descriptor of 2>&1
            end_word()
            while i < len(s) and s[i] in "<>&|-":
                i += 1
            st["skip"] = True
        elif c in ";&|":
            two = s[i:i + 2]
            end_cmd()
            if two in (";;", ";&") and case and case[-1] == "body":
                case[-1] = "pattern"
            i += 2 if two in ("&&", "||", "|&", ";;", ";&") else 1
        elif c == "(":
            if case and case[-1] == "pattern":
                i += 1
            elif st["word"] is not None and st["word"].endswith("="):  # array=( ... )
                i, text = balanced(i + 1, "(", ")", 1)
                add("(" + text)
            elif st["word"] is not None:  # name() {: a function definition
                st["word"] = None
                i = s.find(")", i) + 1 or len(s)
            elif s.startswith("((", i):  # (( arithmetic ))
                i, _ = balanced(i + 2, "(", ")", 2)
            else:  # a subshell
                end_cmd()
                depth += 1
                i += 1
        elif c == ")":
            if case and case[-1] == "pattern":  # the end of a case pattern
                st["word"] = None
                case[-1] = "body"
                i += 1
                continue
            end_cmd()
            i += 1
            if depth:
                depth -= 1
            elif closer == ")":
                return i, line
        else:
            add(c)
            i += 1
    end_cmd()
    return i + 1, line


class ShellScript:
    """What a script defines: its functions, those that run their argument with `-c` (like
    postgres.sh's as_postgres), and literal values of its variables (for `$sudo apt-get`)."""

    def __init__(self, src):
        defs = list(re.finditer(r"(?m)^\s*(?:function\s+)?([A-Za-z_][\w-]*)\s*\(\s*\)", src))
        self.functions = {m.group(1) for m in defs}
        bodies = {m.group(1): re.match(r".*?(?:^\}|\}\s*$|\Z)", src[m.end():], re.S | re.M)
                  .group(0) for m in defs}
        self.runs_argument = {f for f, body in bodies.items()
                              if re.search(r"-c\s+\"\$[1*@]\"", body)}
        self.values = {}
        for name, a, b, c in re.findall(r"(?m)^\s*(?:local\s+)?([A-Za-z_]\w*)=(?:\"([^\"$`\\]*)\""
                                        r"|'([^']*)'|([^\s;&|$`'\"()]*))\s*$", src):
            self.values.setdefault(name, set()).add(a or b or c)


def shell_commands(src, script=None):
    """[(command, line)]: the external commands of shell source."""
    script, commands, found = script or ShellScript(src), [], []
    lex(without_heredocs(src), commands)
    for words in commands:
        found += simple_command(words, script)
    return found


def simple_command(words, script):
    """The commands a simple command runs: its first word, or the command of a prefix such as
    `timeout 20 kcat ...`, and those of the string of `bash -c`/`su -c`."""
    found, i = [], 0
    while i < len(words):
        w, ln = words[i]
        if ASSIGNMENT.match(w) or w in SHELL_KEYWORDS:
            i += 1
        elif w == "command" and i + 1 < len(words) and words[i + 1][0] in ("-v", "-V"):
            break  # a presence check: what it looks for may be optional
        elif w == "command":
            i += 1
        elif w in SHELL_PREFIXES:
            found += [(w, ln)] if w not in OPTIONAL_COMMANDS else []
            i += 1
            while i < len(words) and (words[i][0].startswith("-") or
                                      (w == "env" and ASSIGNMENT.match(words[i][0]))):
                i += 2 if words[i][0] in SHELL_PREFIXES[w] else 1
            i += w == "timeout"  # its duration
        elif w in ("bash", "sh", "dash", "su") and "-c" in [x for x, _ in words[i:-1]]:
            k = [x for x, _ in words].index("-c", i) + 1
            found += [(w, ln)] + [(c, ln) for c, _ in shell_commands(words[k][0], script)]
            break
        elif w in script.runs_argument and i + 1 < len(words):
            found += [(c, ln) for c, _ in shell_commands(words[i + 1][0], script)]
            break
        elif "$" in w or DYNAMIC in w:  # `$sudo cmd` with sudo="" or sudo=sudo: cmd
            m = re.fullmatch(r"\$\{?(\w+)\}?", w)
            values = script.values.get(m.group(1), set()) if m else set()
            if values and values <= {""} | OPTIONAL_COMMANDS:
                i += 1
                continue
            found += [(v.split()[0], ln) for v in values if v]
            break
        else:  # builtins, functions, options and files of the checkout (a relative path) aside
            if w and not (w in SHELL_NOT_COMMANDS or w in script.functions or w.startswith("-")
                          or ("/" in w and not w.startswith("/"))):
                found.append((w, ln))
            break
    return found


def python_commands(text):
    """[(command, line)] of subprocess and os calls whose program is a literal."""
    found = []
    try:
        tree = ast.parse(text)
    except SyntaxError:
        return found
    for node in ast.walk(tree):
        if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and
                isinstance(node.func.value, ast.Name) and node.args):
            continue
        mod, fn, arg = node.func.value.id, node.func.attr, node.args[0]
        shell = fn in ("system", "popen", "getoutput", "getstatusoutput") or any(
            k.arg == "shell" and getattr(k.value, "value", False) for k in node.keywords)
        if mod == "subprocess" or (mod == "os" and (fn in ("system", "popen") or
                                                    fn.startswith("exec"))):
            if isinstance(arg, (ast.List, ast.Tuple)) and arg.elts:
                arg, shell = arg.elts[0], False
            if isinstance(arg, ast.Constant) and isinstance(arg.value, str):
                found += [(c, node.lineno) for c, _ in shell_commands(arg.value)] if shell else \
                    [(arg.value, node.lineno)] if not re.match(r"[^/]+/", arg.value) else []
    return found


def cpp_strings(expr):
    """The strings a C++ expression can build: its literals joined, other operands as @@, and
    the two sides of ?: apart ("su -c " or "sudo -n -u postgres bash -c ")."""
    strings, cur, gap = [], "", ""
    for m in re.finditer(r'"((?:\\.|[^"\\])*)"|(\?|(?<!:):(?!:))|(.)', expr, re.S):
        if m.group(1) is not None:
            cur += (DYNAMIC if cur and re.search(r"\w", gap) else "") + re.sub(
                r"\\(.)", lambda e: {"n": "\n", "t": "\t"}.get(e[1], e[1]), m.group(1))
            gap = ""
        elif m.group(2):
            strings, cur, gap = strings + [cur], "", ""
        else:
            gap += m.group(3)
    return [s for s in strings + [cur + (DYNAMIC if cur and re.search(r"\w", gap) else "")] if s]


def call_args(code, start):
    """The top-level arguments of the call whose "(" is at start (literals skipped)."""
    args, level, i = [""], 0, start
    while i < len(code):
        literal = LITERAL.match(code, i)
        token = literal.group(0) if literal else code[i]
        level += (token in "([{") - (token in ")]}")
        if level == 0:
            break
        if token == "," and level == 1:
            args.append("")
        elif i > start:
            args[-1] += token
        i += len(token)
    return args


def strip_cpp_comments(text):
    """(code with comments blanked, lines kept; the comments' text)."""
    comments = []

    def blank(m):
        if not m.group(0).startswith("/"):
            return m.group(0)
        comments.append(m.group(0))
        return re.sub(r"[^\n]", " ", m.group(0))
    return re.sub(r"//[^\n]*|/\*.*?\*/|" + LITERAL.pattern, blank, text, flags=re.S), \
        "\n".join(comments)


def cpp_commands(sources):
    """[(command, file:line)]: literals given to the process calls and to the project's
    functions that take a std::string and make one (shell, as_postgres, run_tool, ...)."""
    helpers = set(PROCESS_CALLS)
    calls = r"(?<![\w.>])(?:std::|::)?(%s)\s*\("
    for code in sources.values():
        for m in re.finditer(r"\b(\w+)\s*\(\s*const\s+std::string\s*&\s*\w+[^;{)]*\)\s*\{", code):
            body = "".join(call_args(code.replace("{", "(").replace("}", ")"), m.end() - 1))
            if re.search(calls % "|".join(PROCESS_CALLS), body):
                helpers.add(m.group(1))
    found = []
    for rel, code in sources.items():
        for m in re.finditer(calls % "|".join(sorted(helpers)), code):
            arg = call_args(code, m.end() - 1)[0].strip()
            var = re.fullmatch(r"\(?(\w+)(\.c_str\(\)|\.data\(\))?\)?", arg)
            if var:  # a variable: the expression it was last set to
                sets = list(re.finditer(r"\b%s\s*=(?!=)" % var.group(1), code[:m.start()]))
                arg = EXPRESSION.match(code, sets[-1].end()).group(0) if sets else ""
            where = f"{rel}:{code.count(chr(10), 0, m.start()) + 1}"
            for s in cpp_strings(arg):
                if m.group(1).startswith(("exec", "posix_spawn")):  # a program, not a shell line
                    found += [(s.split()[0], where)] if DYNAMIC not in s.split()[0] else []
                else:
                    found += [(c, where) for c, _ in shell_commands(s)]
    return found


def check_commands(root, files, checker, binaries):
    def check(name, where):
        if name not in OPTIONAL_COMMANDS and name not in binaries:
            check_command(name, where, checker)

    cpp = {f: strip_cpp_comments(read(root, f)) for f in files
           if f.endswith((".cpp", ".hpp", ".h")) and f.split("/")[0] in SOURCE_DIRS}
    for name, where in cpp_commands({f: code for f, (code, _) in cpp.items()}):
        check(name, where)
    for f, (_, comments) in cpp.items():  # `valgrind --tool=callgrind bin/bench_durable ...`
        for name in re.findall(r"`([a-z][\w.+-]*) --?[a-z][^`]*`", comments):
            check(name, f"{f} (a comment)")
    for f in files:
        if f.startswith("docker/") or f.endswith((".cpp", ".hpp", ".h")):
            continue
        text = read(root, f)
        interpreter = re.match(r"#!\s*(\S+)(?:\s+(\w\S*))?", text)  # /usr/bin/env bash
        is_shell = f.endswith(".sh") or (interpreter and re.search(r"\b(ba|da)?sh\b", text[:30]))
        if not (is_shell or f.endswith(".py")):
            continue
        for name in interpreter.groups() if interpreter else ():
            if name and (name == interpreter.group(1) or interpreter.group(1).endswith("/env")):
                check(name, f"{f}:1")
        for name, line in shell_commands(text) if is_shell else python_commands(text):
            check(name, f"{f}:{line}")
    for f in files:
        if os.path.basename(f) == "CMakeLists.txt" or f.endswith(".cmake"):
            text = read(root, f)
            for m in re.finditer(r"\bCOMMAND\s+([^\s$)\"]+)", text):
                check(m.group(1), f"{f}:{text.count(chr(10), 0, m.start()) + 1}")


# ---- main -----------------------------------------------------------------------------------

def tracked_files(root):
    try:
        out = subprocess.run(["git", "-C", root, "ls-files"], stdout=subprocess.PIPE,
                             stderr=subprocess.DEVNULL, text=True, check=True).stdout
        return {f for f in out.split() if os.path.isfile(os.path.join(root, f))}
    except (OSError, subprocess.CalledProcessError):  # not a git checkout: the source tree
        files = set()
        for d, dirs, names in os.walk(root):
            dirs[:] = [x for x in dirs if not x.startswith((".", "build"))]
            files |= {os.path.relpath(os.path.join(d, x), root) for x in names}
        return files


def main():
    args = [a for a in sys.argv[1:] if a != "-v"]
    root = os.path.abspath(args[0] if args else os.path.join(os.path.dirname(__file__), "../.."))
    for tool in ("dpkg-query", "g++"):
        if not shutil.which(tool):
            fail(f"{tool} not found: this check reads the Debian package database (dpkg-query) "
                 "and g++'s include path; it runs on Debian after scripts/install-deps.sh")
    listed, pkgs = listed_packages(root), installed_packages()
    absent = [p for p in listed if p not in pkgs]
    if absent:
        fail(f"listed in scripts/install-deps.sh but not installed: {' '.join(absent)} (run "
             "scripts/install-deps.sh first)")
    checker = Checker(listed, pkgs)
    files = tracked_files(root)
    search = include_path()
    sources = sorted(f for f in files if f.endswith((".cpp", ".hpp", ".h"))
                     and f.split("/")[0] in SOURCE_DIRS)
    cmake = sorted(f for f in files if os.path.basename(f) == "CMakeLists.txt"
                   or f.endswith(".cmake"))
    binaries = {b for f in cmake for b in re.findall(r"add_executable\s*\(\s*([\w.+-]+)",
                                                     read(root, f))}
    check_headers(root, sources, files, checker, search)
    check_cmake(root, cmake, files, checker, search)
    check_commands(root, sorted(files), checker, binaries)

    if "-v" in sys.argv[1:]:
        for kind, items in checker.checked.items():
            for name, pkg in sorted(items.items()):
                print(f"  {kind:8} {name:45} {pkg}")
    for (kind, name), (message, where) in sorted(checker.problems.items()):
        shown = where[:3] + [f"{len(where) - 3} more"] * (len(where) > 3)
        print(f"check_deps: {kind} {name} (used in {', '.join(shown)}): {message}")
    n = {kind: len(items) for kind, items in checker.checked.items()}
    summary = (f"{n['header']} headers, {n['cmake']} CMake packages/modules/files, "
               f"{n['command']} commands checked against {len(checker.allowed)} allowed packages "
               f"({len(listed)} listed in scripts/install-deps.sh)")
    if checker.problems:
        print(f"check_deps: FAILED: {len(checker.problems)} problem(s); {summary}")
        return 1
    print(f"check_deps: OK: {summary}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
