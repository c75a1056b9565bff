"""Summarise a scripts/test run from surefire XML reports.

usage: matrix_report.py MATRIX_DIR ELAPSED_SECONDS

MATRIX_DIR/runs.tsv has one line per unit of work, tab-separated:
    kind  key  state  python  problem  note
kind is "build", "bridge", "python" or "check"; key is "bridge" or the X.Y
version whose surefire reports are in MATRIX_DIR/<key>/TEST-*.xml, or for a
check its name ("bindings", "example"); state is "ran" or "skipped"; python
is the interpreter (full version and path for humans); problem is non-empty
when the run itself broke (build error, crashed fork, timeout) - it counts as
one failure; note is free text (skip reason, missing packages). A check has no
reports: it is one test, passed when it ran without a problem.

Prints the versions that ran or were skipped, a compatibility table (also
written as markdown to MATRIX_DIR/matrix.md), the failing tests, and as the very
last line "N passed, N failed, N skipped". Exits 1 if anything failed or no
Python version ran.
"""

import collections
import glob
import os
import re
import sys
import xml.etree.ElementTree as ET

AREAS = ["embedding", "exporter", "views", "harness", "safety", "newbuffer", "pep688", "dlpack",
         "arrow", "spark", "numpy", "pyarrow", "pil"]
TITLES = {"pil": "PIL", "newbuffer": "panamapy.newbuffer", "pep688": "panamapy.Buffer"}
# modules other than native-tests whose tests run against real CPython: one column each
MODULE_PREFIXES = {"dev.panamapy.arrow.": "arrow", "dev.panamapy.spark.": "spark"}
PREFIX = "dev.panamapy.nativetests."
CHECKS = {"bindings": "bindings check (scripts/regenerate-bindings --check)",
          "example": "example consumer (examples/hello-memoryview, module path)"}


def vkey(v):
    out = []
    for part in v.split("."):
        out.append(int(part) if part.isdigit() else 0)
    return out


class Result:
    def __init__(self):
        self.passed = self.failed = self.skipped = 0
        self.skip_reasons = collections.Counter()
        self.failures = []  # (test id, first line of message)
        self.bad_files = []

    def add(self, other):
        self.passed += other.passed
        self.failed += other.failed
        self.skipped += other.skipped
        self.skip_reasons.update(other.skip_reasons)
        self.failures.extend(other.failures)


def area_of(classname):
    for prefix, area in MODULE_PREFIXES.items():
        if classname.startswith(prefix):
            return area
    rest = classname[len(PREFIX):] if classname.startswith(PREFIX) else ""
    return rest.split(".", 1)[0] if "." in rest else "other"


def clean_reason(msg):
    msg = (msg or "").strip().splitlines()[0].strip() if (msg or "").strip() else ""
    # "org.opentest4j.TestAbortedException: Assumption failed: numpy is missing" -> "numpy is missing"
    msg = re.sub(r"^[\w.$]+(Exception|Error|Abort\w*)(: *|$)", "", msg)
    msg = re.sub(r"^[Aa]ssumption failed(: *|$)", "", msg).strip()
    return msg or "no reason given"


def crashed_classes(log):
    """Classes surefire lists under "Crashed tests:" in a Maven log."""
    out = []
    try:
        with open(log, errors="replace") as f:
            lines = f.read().splitlines()
    except OSError:
        return out
    for i, line in enumerate(lines):
        if line.strip().endswith("Crashed tests:"):
            for nxt in lines[i + 1:]:
                m = re.match(r"^\[ERROR\] ([\w.$]+)\s*$", nxt)
                if not m:
                    break
                if m.group(1) not in out:
                    out.append(m.group(1))
    return out


def parse_dir(d):
    """Per-area Result for every testcase in d/TEST-*.xml."""
    by_area = collections.defaultdict(Result)
    bad = []
    for path in sorted(glob.glob(os.path.join(d, "TEST-*.xml"))):
        try:
            root = ET.parse(path).getroot()
        except ET.ParseError as e:
            bad.append("%s: %s" % (os.path.basename(path), e))
            continue
        suites = [root] if root.tag == "testsuite" else list(root.iter("testsuite"))
        for suite in suites:
            for tc in suite.iter("testcase"):
                cls = tc.get("classname") or suite.get("name") or "?"
                r = by_area[area_of(cls)]
                fail = tc.find("failure")
                if fail is None:
                    fail = tc.find("error")
                skip = tc.find("skipped")
                if fail is not None:
                    r.failed += 1
                    msg = (fail.get("message") or fail.get("type") or "").strip()
                    r.failures.append(("%s.%s" % (cls.rsplit(".", 1)[-1], tc.get("name") or "?"),
                                       msg.splitlines()[0] if msg else ""))
                elif skip is not None:
                    r.skipped += 1
                    r.skip_reasons[clean_reason(skip.get("message") or (skip.text or ""))] += 1
                else:
                    r.passed += 1
    return by_area, bad


def cell(r):
    if r is None or (r.passed + r.failed + r.skipped) == 0:
        return "-"
    if r.failed:
        return "fail"
    if r.passed:
        return "pass"
    reason = r.skip_reasons.most_common(1)[0][0] if r.skip_reasons else "no reason given"
    if len(reason) > 60:
        reason = reason[:57] + "..."
    return "skip (%s)" % reason


def counts(r):
    return "%d passed, %d failed, %d skipped" % (r.passed, r.failed, r.skipped)


def fmt_elapsed(s):
    s = int(float(s))
    return "%dh%02dm%02ds" % (s // 3600, s % 3600 // 60, s % 60) if s >= 3600 else "%dm%02ds" % (s // 60, s % 60)


def text_table(header, rows):
    widths = [max(len(str(x)) for x in col) for col in zip(header, *rows)]
    line = lambda cells: "  ".join(str(c).ljust(w) for c, w in zip(cells, widths)).rstrip()
    out = [line(header), line(["-" * w for w in widths])]
    out += [line(r) for r in rows]
    return "\n".join(out)


def md_table(header, rows):
    esc = lambda c: str(c).replace("|", "\\|")
    out = ["| " + " | ".join(esc(h) for h in header) + " |",
           "|" + "|".join(" --- " for _ in header) + "|"]
    out += ["| " + " | ".join(esc(c) for c in r) + " |" for r in rows]
    return "\n".join(out)


def main():
    if len(sys.argv) != 3:
        sys.stderr.write(__doc__)
        return 2
    mdir, elapsed = sys.argv[1], sys.argv[2]
    runs = []
    runs_file = os.path.join(mdir, "runs.tsv")
    if os.path.exists(runs_file):
        with open(runs_file) as f:
            for line in f:
                line = line.rstrip("\n")
                if line:
                    fields = (line.split("\t") + [""] * 6)[:6]
                    runs.append(dict(zip(["kind", "key", "state", "python", "problem", "note"], fields)))

    total = Result()
    version_lines, md_versions, rows, failures, extra_areas = [], [], [], [], []
    bridge_line = "bridge unit tests: did not run"
    per_version = {}

    check_lines = []
    for run in runs:
        if run["kind"] != "check":
            continue
        label = CHECKS.get(run["key"], run["key"])
        r = Result()
        if run["state"] != "ran":
            r.skipped += 1
            r.skip_reasons[run["note"] or "no reason given"] += 1
            check_lines.append("%s: skipped (%s)" % (label, run["note"] or "no reason given"))
        elif run["problem"]:
            r.failed += 1
            failures.append((run["key"], label, run["problem"]))
            check_lines.append("%s: FAILED: %s" % (label, run["problem"]))
        else:
            r.passed += 1
            check_lines.append("%s: passed%s" % (label, " (" + run["python"] + ")" if run["python"] else ""))
        total.add(r)
    runs = [r for r in runs if r["kind"] != "check"]

    for run in runs:
        if run["state"] != "ran":
            continue
        by_area, bad = parse_dir(os.path.join(mdir, run["key"]))
        crashed = crashed_classes(os.path.join(mdir, run["key"], "mvn.log"))
        for cls in crashed:
            r = by_area[area_of(cls)]
            r.failed += 1
            r.failures.append(("%s (whole class)" % cls.rsplit(".", 1)[-1], "its test JVM crashed"))
        run["crashed"] = crashed
        per_version[run["key"]] = by_area
        for a in (by_area if run["kind"] == "python" else ()):
            if a not in AREAS and a not in extra_areas:
                extra_areas.append(a)
        for b in bad:
            failures.append((run["key"], "unreadable report", b))
    columns = AREAS + sorted(extra_areas)

    for run in sorted(runs, key=lambda r: (r["kind"] != "bridge", vkey(r["key"]))):
        key, problem, note = run["key"], run["problem"], run["note"]
        label = {"bridge": "bridge unit tests", "build": "build"}.get(run["kind"], run["kind"])
        if run["state"] != "ran":
            if run["kind"] != "python":
                bridge_line = "%s: did not run (%s)" % (label, note)
            else:
                version_lines.append("  %-8s skipped  %s" % (key, note))
                md_versions.append("- %s: skipped, %s" % (key, note))
            continue
        vres = Result()
        for a, r in sorted(per_version[key].items()):
            vres.add(r)
            for tid, msg in r.failures:
                failures.append((key, tid, msg))
        if problem and not run.get("crashed"):
            # the run broke and no test class carries the blame: count the run as one failure
            vres.failed += 1
            failures.append((key, "(run)", problem))
        total.add(vres)
        status = counts(vres) + ("; RUN BROKE: " + problem if problem else "")
        if run["kind"] == "build":
            bridge_line = "build FAILED: " + problem
            continue
        if run["kind"] != "python":
            bridge_line = "%s: %s" % (label, status)
            continue
        extra = " [%s]" % note if note else ""
        version_lines.append("  %-8s ran      %s: %s%s" % (key, run["python"], status, extra))
        md_versions.append("- %s (%s): %s%s" % (key, run["python"], status, extra))
        row = [key] + [cell(per_version[key].get(a)) for a in columns]
        if problem:
            row[0] += " (run broke)"
        rows.append(row)

    header = ["Python"] + [TITLES.get(a, a) for a in columns]
    ran_versions = [r for r in runs if r["kind"] == "python" and r["state"] == "ran"]

    print("")
    print("== Python versions")
    print("\n".join(version_lines) if version_lines else "  (none found)")
    print("")
    print("== Compatibility (native tests, per area; reports in %s/<version>/)" % mdir)
    if rows:
        print(text_table(header, rows))
    else:
        print("  no Python version ran")
    print("")
    print("== " + bridge_line)
    for line in check_lines:
        print("== " + line)
    if failures:
        print("")
        print("== Failures")
        for key, tid, msg in failures[:60]:
            print("  [%s] %s%s" % (key, tid, ": " + msg[:200] if msg else ""))
        if len(failures) > 60:
            print("  ... and %d more (see the reports)" % (len(failures) - 60))

    md = ["# panamapy compatibility matrix", "",
          "Generated by `scripts/test`: native tests per Python version and area.", ""]
    md.append(md_table(header, rows) if rows else "No Python version ran.")
    md += ["", "## Versions", ""] + (md_versions or ["- none found"])
    md += ["", bridge_line[0].upper() + bridge_line[1:] + ".", ""]
    md += ["- " + line[0].upper() + line[1:] + "." for line in check_lines] + ([""] if check_lines else [])
    md += ["Total: %s (elapsed %s)." % (counts(total), fmt_elapsed(elapsed)), ""]
    try:
        with open(os.path.join(mdir, "matrix.md"), "w") as f:
            f.write("\n".join(md))
        print("")
        print("Markdown table written to %s" % os.path.join(mdir, "matrix.md"))
    except OSError as e:
        print("could not write matrix.md: %s" % e)

    if not ran_versions:
        print("No supported Python version ran: nothing was tested against CPython.")
    print("Elapsed: %s" % fmt_elapsed(elapsed))
    print(counts(total))
    return 1 if (total.failed or not ran_versions) else 0


if __name__ == "__main__":
    sys.exit(main())
