package dev.panamapy.nativetests.dlpack;

import dev.panamapy.BufferSpec;
import dev.panamapy.CPython;
import dev.panamapy.JavaBuffer;
import dev.panamapy.PyObject;
import dev.panamapy.nativetests.safety.ChildJvm;

import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemorySegment;
import java.lang.invoke.MethodHandle;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.atomic.AtomicLong;

import static java.lang.foreign.ValueLayout.JAVA_DOUBLE;
import static java.lang.foreign.ValueLayout.JAVA_LONG;

/**
 * Child JVM of {@link DLPackCloseTest}: DLPack deleters of JavaBuffer tensors called on Java
 * threads (as torch frees tensors on its own threads) racing {@code close()}, then more called
 * after close on a platform and a virtual thread. A consumer is played in Python with ctypes
 * (pointer, rename), the deleter is called from Java. Prints what it saw; exits 0 only if every
 * deleter returned (a deleter taking the GIL during or after finalization aborts the process).
 * args: tensors per racing thread (4 threads), tensors deleted after close.
 */
public final class DeleterCloseRaceMain {
    private DeleterCloseRaceMain() { }

    private static final int THREADS = 4;

    public static void main(String[] args) {
        ChildJvm.exitOnFailure(() -> run(Integer.parseInt(args[0]), Integer.parseInt(args[1])));
    }

    private static void run(int perThread, int afterClose) throws Exception {
        CPython py = CPython.start();
        MemorySegment seg = Arena.global().allocate(JAVA_DOUBLE, 4);       // outlives every tensor
        JavaBuffer buf = py.export(BufferSpec.of(seg, "d"));
        int total = THREADS * perThread + afterClose;
        py.setGlobal("b", buf);
        long deleterAddress;
        long[] managed = new long[total];
        py.exec("""
                import ctypes, struct
                api = ctypes.pythonapi
                api.PyCapsule_GetPointer.restype = ctypes.c_void_p
                api.PyCapsule_GetPointer.argtypes = [ctypes.py_object, ctypes.c_char_p]
                api.PyCapsule_SetName.argtypes = [ctypes.py_object, ctypes.c_char_p]
                used = ctypes.c_char_p(b'used_dltensor_versioned')
                def consume(cap):
                    p = api.PyCapsule_GetPointer(cap, b'dltensor_versioned')
                    api.PyCapsule_SetName(cap, used)
                    return p
                """);
        py.exec("ps = [consume(b.__dlpack__(max_version=(1, 0))) for _ in range(" + total + ")]");
        try (PyObject d = py.eval("ctypes.c_void_p.from_address(ps[0] + 16).value");
             PyObject packed = py.eval("struct.pack('%dQ' % len(ps), *ps)")) {
            deleterAddress = d.asLong();
            ByteBuffer bb = ByteBuffer.wrap(packed.asBytesCopy()).order(ByteOrder.nativeOrder());
            for (int i = 0; i < total; i++) managed[i] = bb.getLong();
        }
        py.exec("del ps");
        System.out.println("tensors held: " + buf.exportCount());
        MethodHandle deleter = Linker.nativeLinker().downcallHandle(MemorySegment.ofAddress(deleterAddress),
                FunctionDescriptor.ofVoid(JAVA_LONG));

        AtomicLong returned = new AtomicLong();
        CountDownLatch started = new CountDownLatch(THREADS);
        List<Thread> racers = new ArrayList<>();
        for (int t = 0; t < THREADS; t++) {
            int from = t * perThread;
            racers.add(Thread.ofPlatform().name("consumer-" + t).start(() -> {
                started.countDown();
                for (int i = from; i < from + perThread; i++) {
                    call(deleter, managed[i]);
                    returned.incrementAndGet();
                }
            }));
        }
        started.await();
        while (returned.get() < THREADS) Thread.onSpinWait();           // the deleters are running
        py.close();
        long atClose = returned.get();
        for (Thread t : racers) t.join();
        System.out.println("deleters returned when close() returned: " + atClose);
        System.out.println("racing deleters returned: " + returned.get() + " of " + THREADS * perThread);
        int first = THREADS * perThread;
        for (int i = first; i < first + afterClose / 2; i++) call(deleter, managed[i]);
        Thread v = Thread.ofVirtual().start(() -> {
            for (int i = first + afterClose / 2; i < total; i++) call(deleter, managed[i]);
        });
        v.join();
        System.out.println("deleters after close returned: " + afterClose);
        System.out.println("done");
        System.out.flush();
        System.exit(returned.get() == (long) THREADS * perThread ? 0 : 1);
    }

    private static void call(MethodHandle deleter, long managed) {
        try {
            deleter.invokeExact(managed);
        } catch (Throwable e) {
            throw new AssertionError(e);
        }
    }
}
