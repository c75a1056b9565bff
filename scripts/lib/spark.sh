# shellcheck shell=bash
# What scripts/spark-demo and scripts/spark-bench share: a Python with pyarrow and pandas, the
# spark module built with what it needs, its class path (Spark included: it is `provided` for
# applications, the scripts run it in local mode) and the JVM flags. Source after common.sh.
#
#   spark_python          sets SPARK_PY: PANAMAPY_PYTHON if set, else the venv scripts/test made for
#                         3.11 (or the newest supported Python) when it has pyarrow and pandas, else
#                         a venv target/venvs/spark-pyX.Y made with them (ensure_venv)
#   spark_build           builds bridge, arrow and spark (mvn install -DskipTests, test classes) and
#                         sets SPARK_CP (class path) and SPARK_FLAGS (JVM flags, from spark/pom.xml)

spark_python() {
  if [[ -n "${PANAMAPY_PYTHON:-}" ]]; then
    SPARK_PY=$PANAMAPY_PYTHON
    return 0
  fi
  local ver path best="" bestxy="" xy
  while IFS=$'\t' read -r ver path; do
    python_supported "$path" || continue
    xy=${ver%.*}
    if [[ "$xy" == 3.11 || -z "$best" ]]; then
      best=$path
      bestxy=$xy
    fi
    [[ "$xy" == 3.11 ]] && break
  done < <(find_pythons)
  [[ -n "$best" ]] || die "no supported CPython found (need 3.9+ with a shared libpython; see scripts/python-matrix)"
  local tested="$PANAMAPY_ROOT/target/venvs/py$bestxy/bin/python"
  if [[ -x "$tested" ]] && "$tested" -c 'import pyarrow, pandas' >/dev/null 2>&1; then
    SPARK_PY=$tested
    return 0
  fi
  ensure_venv "$best" "$PANAMAPY_ROOT/target/venvs/spark-py$bestxy" pyarrow pandas ||
    die "could not make a venv from $best"
  if ((${#VENV_MISSING[@]})); then
    die "Python $bestxy ($best) cannot get ${VENV_MISSING[*]} from the package index; set PANAMAPY_PYTHON to a Python that has pyarrow and pandas"
  fi
  SPARK_PY=$PANAMAPY_ROOT/target/venvs/spark-py$bestxy/bin/python
}

spark_build() {
  mvn_argv
  log "building bridge, arrow and spark (mvn install -DskipTests; log in target/spark-build.log)"
  mkdir -p "$PANAMAPY_ROOT/target"
  if ! "${PANAMAPY_MVN[@]}" -pl spark -am install -DskipTests -Dmaven.javadoc.skip=true -Dmaven.source.skip=true \
    >"$PANAMAPY_ROOT/target/spark-build.log" 2>&1 </dev/null; then
    grep -E '^\[ERROR\]' "$PANAMAPY_ROOT/target/spark-build.log" | head -n 20 >&2
    die "the build failed; see target/spark-build.log"
  fi
  if ! "${PANAMAPY_MVN[@]}" -pl spark test-compile dependency:build-classpath -Dmdep.includeScope=test \
    -Dmdep.outputFile=target/spark-classpath.txt >>"$PANAMAPY_ROOT/target/spark-build.log" 2>&1 </dev/null; then
    die "resolving the spark module's class path failed; see target/spark-build.log"
  fi
  SPARK_CP="$PANAMAPY_ROOT/spark/target/test-classes:$PANAMAPY_ROOT/spark/target/classes:$(cat "$PANAMAPY_ROOT/spark/target/spark-classpath.txt")"
  SPARK_FLAGS=$(sed -n 's:.*<spark.jvm.flags>\(--.*\)</spark.jvm.flags>.*:\1:p' "$PANAMAPY_ROOT/spark/pom.xml" | head -n 1)
  [[ -n "$SPARK_FLAGS" ]] || die "spark/pom.xml has no spark.jvm.flags"
}
