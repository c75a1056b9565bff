package dev.panamapy.arrow;

import dev.panamapy.CPython;
import dev.panamapy.arrow.internal.Glue;
import dev.panamapy.arrow.internal.Imported;
import dev.panamapy.arrow.internal.Snapshot;
import dev.panamapy.arrow.internal.StreamExport;
import org.apache.arrow.memory.BufferAllocator;
import org.apache.arrow.memory.RootAllocator;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;

import static org.junit.jupiter.api.Assertions.assertEquals;

/** A fresh root allocator per test, and after each test: no export or import alive, no Java memory left. */
abstract class AllocatorTest {

    BufferAllocator allocator;

    @BeforeEach
    void openAllocator() { allocator = new RootAllocator(); }

    @AfterEach
    void nothingLeft(CPython py) {
        py.exec("import gc; gc.collect()");
        py.exec("pass");                 // references Java dropped are decremented on the next call
        assertEquals(0, Glue.liveObjects(), "Python export objects left");
        assertEquals(0, StreamExport.live(), "exported streams left");
        assertEquals(0, Snapshot.live(), "exports left");
        assertEquals(0, Imported.live(), "imports left");
        assertEquals(0, allocator.getAllocatedMemory(), "Java memory left");
        allocator.close();
    }
}
