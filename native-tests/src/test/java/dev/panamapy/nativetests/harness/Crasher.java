package dev.panamapy.nativetests.harness;

import dev.panamapy.CPython;
import dev.panamapy.HarnessSpec;
import dev.panamapy.JavaBuffer;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;

/**
 * Crashes the process on purpose, for {@link CrashIsolationTest}: exports an unchecked view whose
 * buf points 64 TiB past an 8-byte segment (unmapped memory) and has Python copy it with
 * {@code bytes(memoryview(x))}. CPython reads the bogus address and the process dies of SIGSEGV.
 */
public final class Crasher {
    private Crasher() { }

    public static void main(String[] args) {
        CPython py = CPython.start();
        MemorySegment seg = Arena.global().allocate(8, 8);
        HarnessSpec bogus = HarnessSpec.of(seg, "B").offset(1L << 46);
        JavaBuffer x = py.export(bogus);
        py.setGlobal("x", x);
        System.out.println("crasher: reading unmapped memory through a JavaBuffer now");
        System.out.flush();
        py.exec("bytes(memoryview(x))");
        System.out.println("crasher: still alive?!");
        System.exit(3);
    }
}
