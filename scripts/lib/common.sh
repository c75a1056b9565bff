# shellcheck shell=bash
# Shared helpers for panamapy's scripts. Source it, do not run it:
#   . "$(dirname "${BASH_SOURCE[0]}")/lib/common.sh"
# Safe under `set -euo pipefail`. Everything it logs goes to stderr.
#
# Functions:
#   support_prop KEY         a value of the bridge's support.properties (jdk.min, python.min, refuse.*)
#   find_jdk                 export JAVA_HOME/PATH for a JDK >= jdk.min (25)
#   mvn_argv [POM]           PANAMAPY_MVN=(mvn -B -ntp ... -f POM), POM defaulting to the root pom.xml
#   mvn_cmd ARGS...          mvn -B -ntp ARGS with that JDK, run from the repo root
#   find_pythons             "X.Y.Z<TAB>/path/to/python" for every CPython found, one per X.Y
#   python_probe PYTHON      what PYTHON says about itself (the bridge's probe.py), "key<TAB>value" lines
#   python_verdict           reads python_probe's output: "supported<TAB>libpython" or "skipped<TAB>reason"
#   python_status PYTHON     "supported<TAB>libpython" or "skipped<TAB>reason"
#   python_supported PYTHON  exit status 0 if supported
#   python_table             human-readable table of find_pythons + python_status
#   ensure_venv PY DIR PKG.. venv at DIR from PY with PKGs from the pip mirror (missing ones tolerated)
#   tool_python              prints a python3 usable for helper scripts (XML parsing, reports)
#
# Environment knobs:
#   JAVA_HOME                tried first by find_jdk
#   PANAMAPY_INSTALL=1       let find_jdk apt-get install a JDK (as root; implied by CI=true)
#   PANAMAPY_VENV_REFRESH=1  rebuild venvs even when their stamp says they are up to date
#   PANAMAPY_MVN_ARGS        extra arguments for every mvn call (word-split)

if [[ -n "${PANAMAPY_COMMON_SOURCED:-}" ]]; then
  return 0
fi
PANAMAPY_COMMON_SOURCED=1

PANAMAPY_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
export PANAMAPY_ROOT
# What panamapy can embed, and the words for refusing the rest: one file, read by the library too.
PANAMAPY_SUPPORT="$PANAMAPY_ROOT/bridge/src/main/resources/dev/panamapy/internal"

# support_prop KEY: the value of KEY in support.properties (fails if there is none).
support_prop() {
  local v
  v=$(sed -n "s/^${1//./\\.}=//p" "$PANAMAPY_SUPPORT/support.properties" | head -n 1)
  v=${v%$'\r'}
  [[ -n "$v" ]] || { printf 'panamapy: error: %s has no %s\n' "$PANAMAPY_SUPPORT/support.properties" "$1" >&2; return 1; }
  printf '%s\n' "$v"
}

# support_message KEY NAME=VALUE...: message KEY with its {NAME} placeholders filled, then {jdk.min}/{python.min}.
support_message() {
  local msg kv
  msg=$(support_prop "$1") || return 1
  shift
  for kv in "$@"; do
    msg=${msg//"{${kv%%=*}}"/"${kv#*=}"}
  done
  msg=${msg//"{jdk.min}"/"$PANAMAPY_MIN_JDK"}
  msg=${msg//"{python.min}"/"3.$PANAMAPY_MIN_PY_MINOR"}
  printf '%s\n' "$msg"
}

PANAMAPY_MIN_JDK=$(support_prop jdk.min)
PANAMAPY_MIN_PY_MINOR=$(support_prop python.min)
PANAMAPY_MIN_PY_MINOR=${PANAMAPY_MIN_PY_MINOR#3.}

log() { printf 'panamapy: %s\n' "$*" >&2; }
warn() { printf 'panamapy: warning: %s\n' "$*" >&2; }
die() {
  printf 'panamapy: error: %s\n' "$*" >&2
  exit 1
}

# --------------------------------------------------------------------------
# JDK
# --------------------------------------------------------------------------

# jdk_major HOME: prints the feature release of the JDK at HOME (8, 17, 25);
# fails if HOME is not a JDK (needs bin/java and bin/javac).
jdk_major() {
  local home=${1%/} v=""
  [[ -x "$home/bin/java" && -x "$home/bin/javac" ]] || return 1
  if [[ -r "$home/release" ]]; then
    v=$(sed -n 's/^JAVA_VERSION="\{0,1\}\([^"]*\)"\{0,1\}[[:space:]]*$/\1/p' "$home/release" | head -n 1)
  fi
  if [[ -z "$v" ]]; then
    v=$("$home/bin/java" -version 2>&1 | sed -n 's/.*version "\([^"]*\)".*/\1/p' | head -n 1)
  fi
  v=${v#1.} # 1.8.0_402 -> 8.0_402
  v=${v%%[.+_-]*}
  [[ "$v" =~ ^[0-9]+$ ]] || return 1
  printf '%s\n' "$v"
}

_use_jdk() { # HOME MAJOR HOW
  JAVA_HOME=$1
  PATH="$JAVA_HOME/bin:$PATH"
  PANAMAPY_JDK_MAJOR=$2
  export JAVA_HOME PATH PANAMAPY_JDK_MAJOR
  log "using JDK $2 at $1 ($3)"
}

# Newest JDK >= PANAMAPY_MIN_JDK among the usual install directories; prints "MAJOR HOME".
_scan_jdks() {
  local d real major best_major=0 best_home=""
  local -A seen=()
  # PANAMAPY_JDK_SEARCH: folders whose subfolders are JDK homes (space-separated), instead of the usual ones
  local -a roots
  if [[ -n "${PANAMAPY_JDK_SEARCH:-}" ]]; then
    read -r -a roots <<<"$PANAMAPY_JDK_SEARCH"
  else
    roots=(/usr/lib/jvm /opt/java /usr/local/java "$HOME/.sdkman/candidates/java" "$HOME/.jdks")
  fi
  local r
  local -a dirs=()
  for r in "${roots[@]}"; do dirs+=("$r"/*); done
  for d in "${dirs[@]}"; do
    [[ -d "$d" ]] || continue
    real=$(readlink -f "$d") || continue
    [[ -z "${seen[$real]:-}" ]] || continue
    seen[$real]=1
    major=$(jdk_major "$real") || continue
    if ((major >= PANAMAPY_MIN_JDK && major > best_major)); then
      best_major=$major
      best_home=$real
    fi
  done
  [[ -n "$best_home" ]] || return 1
  printf '%s %s\n' "$best_major" "$best_home"
}

_PANAMAPY_APT_TRIED=""
# Install a JDK >= PANAMAPY_MIN_JDK from Debian apt, if allowed (root, and CI=true or PANAMAPY_INSTALL=1).
_apt_install_jdk() {
  [[ -z "$_PANAMAPY_APT_TRIED" ]] || return 1
  _PANAMAPY_APT_TRIED=1
  [[ "${CI:-}" == true || "${PANAMAPY_INSTALL:-}" == 1 ]] || return 1
  [[ "$(id -u)" == 0 ]] || { warn "not root: will not apt-get install a JDK"; return 1; }
  command -v apt-get >/dev/null 2>&1 || return 1
  log "no JDK >= $PANAMAPY_MIN_JDK found; asking apt for one"
  DEBIAN_FRONTEND=noninteractive apt-get update -qq >/dev/null 2>&1 || warn "apt-get update failed"
  local pkg cand
  local v
  local -a pkgs=()
  for ((v = PANAMAPY_MIN_JDK + 2; v >= PANAMAPY_MIN_JDK; v--)); do pkgs+=("openjdk-$v-jdk-headless"); done
  for pkg in "${pkgs[@]}"; do
    cand=$(apt-cache policy "$pkg" 2>/dev/null | sed -n 's/^ *Candidate: *//p')
    if [[ -n "$cand" && "$cand" != "(none)" ]]; then
      log "installing $pkg $cand with apt-get"
      if DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$pkg" >&2; then
        return 0
      fi
      warn "apt-get install $pkg failed"
    fi
  done
  warn "apt offers none of ${pkgs[*]}"
  return 1
}

# find_jdk: export JAVA_HOME and PATH for a JDK >= PANAMAPY_MIN_JDK.
find_jdk() {
  local major="" home found
  if [[ -n "${JAVA_HOME:-}" ]]; then
    if major=$(jdk_major "$JAVA_HOME") && ((major >= PANAMAPY_MIN_JDK)); then
      _use_jdk "${JAVA_HOME%/}" "$major" "from JAVA_HOME"
      return 0
    fi
    if [[ -n "${major:-}" ]]; then
      log "JAVA_HOME=$JAVA_HOME is JDK $major, need >= $PANAMAPY_MIN_JDK; looking elsewhere"
    else
      log "JAVA_HOME=$JAVA_HOME is not a JDK (no bin/java and bin/javac); looking elsewhere"
    fi
  fi
  if home=$(command -v java 2>/dev/null); then
    home=$(dirname "$(dirname "$(readlink -f "$home")")")
    if major=$(jdk_major "$home") && ((major >= PANAMAPY_MIN_JDK)); then
      _use_jdk "$home" "$major" "java on PATH"
      return 0
    fi
  fi
  if found=$(_scan_jdks) || { _apt_install_jdk && found=$(_scan_jdks); }; then
    _use_jdk "${found#* }" "${found%% *}" "newest JDK >= $PANAMAPY_MIN_JDK in /usr/lib/jvm"
    return 0
  fi
  printf '%s\n' \
    "panamapy: error: no JDK $PANAMAPY_MIN_JDK or newer found (panamapy is compiled for Java $PANAMAPY_MIN_JDK and uses its FFM API)." \
    "  Looked at: JAVA_HOME (${JAVA_HOME:-unset}), java on PATH ($(command -v java 2>/dev/null || echo none)), ${PANAMAPY_JDK_SEARCH:-/usr/lib/jvm /opt/java /usr/local/java ~/.sdkman ~/.jdks}." \
    "  Fix: install a JDK $PANAMAPY_MIN_JDK (e.g. Eclipse Temurin $PANAMAPY_MIN_JDK, or 'apt-get install openjdk-$PANAMAPY_MIN_JDK-jdk-headless' where available)" \
    "  and point JAVA_HOME at it:  export JAVA_HOME=/path/to/jdk-$PANAMAPY_MIN_JDK" \
    "  (or rerun as root with PANAMAPY_INSTALL=1 to let this script try apt-get)." >&2
  exit 1
}

# --------------------------------------------------------------------------
# Maven
# --------------------------------------------------------------------------

# mvn_argv [POM]: sets the array PANAMAPY_MVN to the mvn command line for POM (default: the
# root pom.xml), for use under `timeout`. Stray ESC[0m in Maven's output are turned off by
# .mvn/jvm.config (-Djansi.noreset=true), which every mvn run under the repo picks up.
mvn_argv() {
  local pom=${1:-$PANAMAPY_ROOT/pom.xml}
  [[ -n "${PANAMAPY_JDK_MAJOR:-}" ]] || find_jdk
  local mvn=mvn
  if [[ -x "$PANAMAPY_ROOT/mvnw" ]]; then
    mvn="$PANAMAPY_ROOT/mvnw"
  elif ! command -v mvn >/dev/null 2>&1; then
    die "Maven (mvn) not found on PATH: install Maven 3.8+ (e.g. apt-get install maven)"
  fi
  local -a extra=()
  if [[ -n "${PANAMAPY_MVN_ARGS:-}" ]]; then
    read -r -a extra <<<"$PANAMAPY_MVN_ARGS"
  fi
  local mopts=${MAVEN_OPTS:-}
  if ((PANAMAPY_JDK_MAJOR >= 24)) && [[ "$mopts" != *sun-misc-unsafe-memory-access* ]]; then
    mopts="${mopts:+$mopts }--sun-misc-unsafe-memory-access=allow" # Maven 3.8's guava warns on JDK 24+
  fi
  PANAMAPY_MVN=(env "JAVA_HOME=$JAVA_HOME" "MAVEN_OPTS=$mopts" "$mvn" -B -ntp -Dstyle.color=never -f "$pom" ${extra[@]+"${extra[@]}"})
}

# mvn_cmd ARGS...: mvn in batch mode, no transfer progress, with the chosen JDK.
mvn_cmd() {
  mvn_argv
  "${PANAMAPY_MVN[@]}" "$@"
}

# --------------------------------------------------------------------------
# Pythons
# --------------------------------------------------------------------------

# python_probe PYTHON: what PYTHON says about itself, "key<TAB>value" lines (the bridge's
# probe.py, the same file the library runs before it embeds a Python), or fails.
python_probe() {
  local out
  out=$(timeout 20 "$1" -c "$(cat "$PANAMAPY_SUPPORT/probe.py")" 2>/dev/null </dev/null) || return 1
  [[ "$out" == *$'\n'end$'\t'panamapy-probe* ]] || return 1
  printf '%s\n' "$out"
}

# _probe_field KEY: the value of KEY in the probe output on stdin.
_probe_field() {
  local k v
  while IFS=$'\t' read -r k v; do
    if [[ "$k" == "$1" ]]; then
      printf '%s\n' "$v"
      return 0
    fi
  done
  return 0
}

# find_pythons: "X.Y.Z<TAB>path" for every CPython on this machine, one per
# X.Y (pyenv's first, then python3.X / python3 / python2 on PATH), oldest first.
find_pythons() {
  local -a cands=()
  local root="" d f name
  if ! { command -v pyenv >/dev/null 2>&1 && root=$(pyenv root 2>/dev/null); }; then
    root=${PYENV_ROOT:-$HOME/.pyenv} # pyenv installed but not on PATH (non-interactive shells)
  fi
  if [[ -d "$root/versions" ]]; then
    for d in "$root"/versions/*; do
      [[ -d "$d" && ! -L "$d" ]] || continue
      for f in "$d/bin/python3" "$d/bin/python"; do
        if [[ -x "$f" ]]; then
          cands+=("$f")
          break
        fi
      done
    done
  fi
  local IFS=:
  local -a pathdirs
  read -r -a pathdirs <<<"$PATH"
  unset IFS
  for d in "${pathdirs[@]}"; do
    [[ -d "$d" ]] || continue
    case "$d" in */pyenv/shims | */.pyenv/shims) continue ;; esac # shims resolve to pyenv's versions, seen above
    for f in "$d"/python3.[0-9]* "$d"/python3 "$d"/python2* "$d"/python; do
      name=${f##*/}
      [[ -x "$f" && ! -d "$f" ]] || continue
      [[ "$name" =~ ^python[0-9.]*$ ]] || continue # skip python3.11-config, python3-dbg etc.
      cands+=("$f")
    done
  done
  local -A seen=()
  local out ver xy
  for f in "${cands[@]}"; do
    out=$(python_probe "$f") || continue
    ver=$(_probe_field version <<<"$out")
    xy=${ver%.*}
    [[ -z "${seen[$xy]:-}" ]] || continue
    seen[$xy]=1
    printf '%s\t%s\n' "$ver" "$f"
  done | sort -t . -k1,1n -k2,2n -k3,3n
}

# python_verdict: reads python_probe's output on stdin and prints "supported<TAB>/path/libpython3.X.so"
# or "skipped<TAB>Python X.Y.Z <why>", with the rules and the words of the bridge's support.properties
# (the library says the same, as "Python X.Y.Z at PATH <why>").
python_verdict() {
  local out ver impl shared ft libdir lib major minor rule=""
  out=$(cat)
  ver=$(_probe_field version <<<"$out")
  impl=$(_probe_field impl <<<"$out")
  shared=$(_probe_field shared <<<"$out")
  ft=$(_probe_field gil_disabled <<<"$out")
  libdir=$(_probe_field libdir <<<"$out")
  lib=$(_probe_field libpython <<<"$out")
  major=${ver%%.*}
  minor=${ver#*.}
  minor=${minor%%.*}
  if [[ "$impl" != cpython ]]; then
    rule=refuse.not-cpython
  elif ((major < 3 || (major == 3 && minor < PANAMAPY_MIN_PY_MINOR))); then
    rule=refuse.too-old
  elif [[ "$ft" == 1 ]]; then
    rule=refuse.free-threaded
  elif [[ "$shared" != 1 ]]; then
    rule=refuse.not-shared
  elif [[ -z "$lib" ]]; then
    rule=refuse.no-libpython
  fi
  if [[ -z "$rule" ]]; then
    printf 'supported\t%s\n' "$lib"
  else
    printf 'skipped\tPython %s %s\n' "$ver" "$(support_message "$rule" "version=$ver" "impl=$impl" "minor=$minor" "libdir=$libdir")"
  fi
}

# python_status PYTHON: "supported<TAB>/path/libpython3.X.so" or "skipped<TAB>reason".
python_status() {
  local out
  if ! out=$(python_probe "$1"); then
    printf 'skipped\t%s\n' "does not run (or is not a Python)"
    return 0
  fi
  python_verdict <<<"$out"
}

python_supported() {
  local st
  st=$(python_status "$1")
  [[ "$st" == supported* ]]
}

# python_table: the find_pythons list with each Python's status, for humans.
python_table() {
  local ver path st what
  printf '%-9s %-48s %s\n' VERSION PATH STATUS
  while IFS=$'\t' read -r ver path; do
    st=$(python_status "$path")
    what=${st#*$'\t'}
    if [[ "$st" == supported* ]]; then
      printf '%-9s %-48s supported (%s)\n' "$ver" "$path" "$what"
    else
      printf '%-9s %-48s skipped: %s\n' "$ver" "$path" "$what"
    fi
  done < <(find_pythons)
}

# tool_python: a python3 (>= 3.6) for the scripts' own helpers.
tool_python() {
  local p
  for p in "${PANAMAPY_TOOL_PYTHON:-}" python3 python3.13 python3.12 python3.11 python3.10 python3.9 /usr/bin/python3; do
    [[ -n "$p" ]] || continue
    if command -v "$p" >/dev/null 2>&1 && "$p" -c 'import sys; assert sys.version_info >= (3, 6)' >/dev/null 2>&1; then
      command -v "$p"
      return 0
    fi
  done
  local ver path
  while IFS=$'\t' read -r ver path; do
    if [[ "$ver" == 3.* ]] && "$path" -c 'import sys; assert sys.version_info >= (3, 6)' >/dev/null 2>&1; then
      printf '%s\n' "$path"
      return 0
    fi
  done < <(find_pythons)
  die "no python3 (3.6+) found to run the scripts' helpers"
}

# --------------------------------------------------------------------------
# venvs
# --------------------------------------------------------------------------

# ensure_venv PYTHON DIR PACKAGE...: make DIR a venv of PYTHON (no system
# site-packages) with as many of PACKAGEs as the pip index/mirror has wheels
# for. Missing packages are recorded and reported, never fatal. Fast when the
# stamp matches. Fails only if the venv itself cannot be created.
# After it returns: VENV_INSTALLED / VENV_MISSING arrays (package names).
ensure_venv() {
  local base=$1 dir=${2%/}
  shift 2
  local -a pkgs=("$@")
  local stamp="$dir/.panamapy-stamp" record="$dir/.panamapy-packages" piplog="$dir/.panamapy-pip.log"
  local label=${dir##*/} basever want t0=$SECONDS
  VENV_INSTALLED=()
  VENV_MISSING=()
  [[ -n "$dir" && "$dir" != / ]] || die "ensure_venv: bad directory '$dir'"
  basever=$("$base" -c 'import sys; print(sys.version.split()[0])' 2>/dev/null) ||
    { warn "venv $label: $base does not run"; return 1; }
  want="base=$(readlink -f "$base") version=$basever packages=${pkgs[*]}"

  if [[ -z "${PANAMAPY_VENV_REFRESH:-}" && -f "$stamp" && -f "$record" && -x "$dir/bin/python" ]] &&
    [[ "$(cat "$stamp")" == "$want" ]] && "$dir/bin/python" -c '' >/dev/null 2>&1; then
    _venv_report "$label" "$record" " (up to date)"
    return 0
  fi

  if [[ -e "$dir" ]]; then
    if [[ -f "$dir/pyvenv.cfg" || -f "$stamp" ]]; then
      rm -rf -- "$dir"
    else
      warn "venv $label: $dir exists and is not a venv; not touching it"
      return 1
    fi
  fi
  mkdir -p "$(dirname "$dir")"
  local out
  if ! out=$("$base" -m venv "$dir" 2>&1 </dev/null); then
    warn "venv $label: '$base -m venv' failed: $(printf '%s' "$out" | tail -n 3 | tr '\n' ' ')"
    rm -rf -- "$dir"
    return 1
  fi
  : >"$piplog"
  local -a pip=("$dir/bin/python" -m pip install --disable-pip-version-check --no-input
    --only-binary=:all: --retries 1 --progress-bar off)
  local p name rc=0 reason ver
  : >"$record.tmp"
  if ((${#pkgs[@]})); then
    "${pip[@]}" "${pkgs[@]}" >>"$piplog" 2>&1 </dev/null || rc=$?
  fi
  for p in ${pkgs[@]+"${pkgs[@]}"}; do
    name=${p%%[<>=!~\[ ;]*}
    if ((rc != 0)) && ! _venv_dist_version "$dir" "$name" >/dev/null; then
      # the batch failed: try this one alone so one missing wheel does not cost the others
      printf '\n### %s alone\n' "$p" >>"$piplog"
      out=$("${pip[@]}" "$p" 2>&1 </dev/null) || true
      printf '%s\n' "$out" >>"$piplog"
    fi
    if ver=$(_venv_dist_version "$dir" "$name"); then
      printf 'installed\t%s\t%s\n' "$name" "$ver" >>"$record.tmp"
    else
      if [[ "${out:-}" == *"ResolutionImpossible"* || "${out:-}" == *"conflicting dependencies"* ]]; then
        reason="no wheels of it or its dependencies for Python ${basever%.*} on the package index (details: $piplog)"
      elif [[ "${out:-}" == *"No matching distribution found"* || "${out:-}" == *"Could not find a version"* ]]; then
        reason="no wheel for Python ${basever%.*} on the package index"
      else
        reason=$(printf '%s\n' "${out:-}" | grep -E '^ERROR' | tail -n 1 | cut -c1-160)
        reason=${reason:-pip failed, see $piplog}
      fi
      printf 'missing\t%s\t%s\n' "$name" "$reason" >>"$record.tmp"
    fi
    out=""
  done
  mv "$record.tmp" "$record"
  printf '%s\n' "$want" >"$stamp"
  _venv_report "$label" "$record" " (created from Python $basever in $((SECONDS - t0))s)"
}

_venv_dist_version() { # DIR NAME
  "$1/bin/python" - "$2" 2>/dev/null <<'EOF'
import sys
try:
    from importlib.metadata import version
except ImportError:
    from importlib_metadata import version
print(version(sys.argv[1]))
EOF
}

_venv_report() { # LABEL RECORD SUFFIX
  local state name info
  log "venv $1$3:"
  while IFS=$'\t' read -r state name info; do
    if [[ "$state" == installed ]]; then
      VENV_INSTALLED+=("$name")
      log "  $name $info installed"
    else
      VENV_MISSING+=("$name")
      log "  $name missing: $info (PANAMAPY_VENV_REFRESH=1 retries)"
    fi
  done <"$2"
}
