package dev.panamapy.testing;

import java.util.List;

/**
 * What an in-process pytest run reported (see {@link PythonRunner#pytest}).
 *
 * @param exitCode pytest's exit code: 0 all passed, 1 some failed, 2 interrupted, 3 internal
 *                 error, 4 usage error, 5 no tests collected
 * @param passed   tests whose call phase passed (xpass included)
 * @param failed   tests that failed in any phase, plus collection errors
 * @param skipped  tests skipped (and xfailed)
 * @param failures one report per failure: node id, then pytest's long report (the traceback)
 * @param output   pytest's terminal output
 */
public record PytestResult(int exitCode, int passed, int failed, int skipped, List<String> failures, String output) {

    public PytestResult {
        failures = List.copyOf(failures);
    }

    /** Whether pytest exited 0: something ran and nothing failed. */
    public boolean ok() {
        return exitCode == 0;
    }

    /**
     * One line for logs: {@code "pytest: 12 passed, 0 failed, 1 skipped"}. Always prefixed:
     * CI reads bare "N passed, N failed" lines as the build's own totals.
     */
    public String summary() {
        return "pytest: " + passed + " passed, " + failed + " failed, " + skipped + " skipped";
    }
}
