package dev.panamapy.nativetests.embedding;

import dev.panamapy.CPython;
import dev.panamapy.PyObject;

/** Run by {@link ModulePathTest} in a child JVM where the bridge and bindings are named modules. */
public final class ModulePathMain {
    public static void main(String[] args) {
        try (CPython py = CPython.start(); PyObject r = py.eval("6 * 7")) {
            System.out.println("answer=" + r.asLong() + " module=" + CPython.class.getModule().getName());
        }
    }
}
