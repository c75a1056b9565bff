package dev.panamapy.nativetests.safety;

import dev.panamapy.CPython;
import dev.panamapy.PyObject;

import java.nio.file.Path;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;

/**
 * Child JVM for {@link CloseAfterRealisticUseTest}: uses an interpreter as applications do
 * ({@code args[0]} names how), then closes it and prints "closed". Threads that imported modules
 * or keep thread states stay as they are: alive, ended, pooled. {@code args[1]}, if given, is the
 * Python executable to embed (the numpy venv).
 */
public final class CloseAfterUseMain {
    private CloseAfterUseMain() { }

    private static CPython py;

    public static void main(String[] args) {
        ChildJvm.exitOnFailure(() -> run(args));
    }

    private static void run(String[] args) throws Exception {
        py = args.length > 1 ? CPython.builder().python(Path.of(args[1])).start() : CPython.start();
        CountDownLatch forever = new CountDownLatch(1);      // keeps "alive" threads alive past close()
        ExecutorService pool = Executors.newFixedThreadPool(2, Thread.ofPlatform().daemon(true).factory());
        switch (args[0]) {
            case "threading-on-this-thread" -> py.exec("import threading");
            case "threading-on-a-live-thread" -> onThread("import threading", forever);
            case "threading-on-an-ended-thread" -> onThread("import threading", null);
            case "threading-on-a-pool-thread" -> pool.submit(() -> py.exec("import threading")).get();
            case "threading-imported-again" -> onThread("""
                    import sys, threading
                    del sys.modules['threading']
                    import threading
                    if sys.version_info < (3, 13):   # from 3.13 the main thread is the one that started CPython
                        assert threading.main_thread().ident == threading.get_ident()   # this Java thread, now
                    """, forever);
            case "concurrent-futures" -> pool.submit(() -> py.exec("""
                    import concurrent.futures
                    ex = concurrent.futures.ThreadPoolExecutor(max_workers=4)     # never shut down
                    assert sorted(ex.map(lambda x: x * x, range(100)))[-1] == 99 * 99
                    """)).get();
            case "asyncio" -> onThread("""
                    import asyncio
                    async def main():
                        loop = asyncio.get_running_loop()
                        a = await loop.run_in_executor(None, sum, range(10))
                        b = await asyncio.to_thread(sum, range(5))
                        await asyncio.sleep(0.01)
                        return a + b
                    assert asyncio.run(main()) == 55
                    """, forever);
            case "python-threads-running" -> py.exec("""
                    import threading, time
                    def watcher():                       # ends once the main thread is marked stopped at exit
                        while threading.main_thread().is_alive():
                            time.sleep(0.005)
                    def spinner():
                        while True:
                            time.sleep(0.001)
                    threading.Thread(target=watcher, daemon=False).start()
                    threading.Thread(target=spinner, daemon=True).start()
                    """);
            case "numpy" -> {
                onThread("import threading, numpy as np\nassert int(np.arange(10).sum()) == 45", forever);
                pool.submit(() -> py.exec("import numpy as np\nx = np.ones(1000) @ np.ones(1000)")).get();
            }
            case "everything" -> {
                onThread("import threading", forever);
                onThread("import threading, concurrent.futures\n"
                        + "ex = concurrent.futures.ThreadPoolExecutor(2)\nassert ex.submit(pow, 2, 10).result() == 1024", null);
                pool.submit(() -> py.exec("import asyncio\nasyncio.run(asyncio.sleep(0))")).get();
                py.exec("import threading\nthreading.Thread(target=lambda: None, daemon=False).start()");
            }
            default -> throw new IllegalArgumentException(args[0]);
        }
        try (PyObject v = py.eval("__import__('sys').version_info[:2]")) {
            System.out.println("used CPython " + v);
        }
        py.close();
        System.out.println("closed: " + py.isClosed());
        forever.countDown();
        pool.shutdownNow();
    }

    /** Runs code on a new platform thread; it then waits on {@code park} if given, else ends. */
    private static void onThread(String code, CountDownLatch park) throws Exception {
        CountDownLatch ran = new CountDownLatch(1);
        Throwable[] failed = new Throwable[1];
        Thread t = Thread.ofPlatform().daemon(true).start(() -> {
            try {
                py.exec(code);
            } catch (Throwable e) {
                failed[0] = e;
            }
            ran.countDown();
            if (park != null) {
                try {
                    park.await();
                } catch (InterruptedException ignored) {
                    // ends
                }
            }
        });
        ran.await();
        if (failed[0] != null) throw new AssertionError("setup failed", failed[0]);
        if (park == null) t.join();
    }
}
