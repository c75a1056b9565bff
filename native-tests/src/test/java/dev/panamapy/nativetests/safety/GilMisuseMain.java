package dev.panamapy.nativetests.safety;

import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.read.ListAppender;
import dev.panamapy.CPython;
import dev.panamapy.Gil;
import dev.panamapy.PyObject;
import org.slf4j.LoggerFactory;

import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;

/**
 * Child JVM for {@link GilMisuseTest}: one misuse of {@code py.gil()} or of the GIL in Java
 * functions, named by {@code args[0]}. Misuse that is refused must change nothing; misuse that
 * cannot be refused must be logged by the GIL watchdog (run with a short
 * {@code -Dpanamapy.gilWatchdogMillis}), which this child waits for with a log appender.
 */
public final class GilMisuseMain {
    private GilMisuseMain() { }

    private static CPython py;

    public static void main(String[] args) {
        ChildJvm.exitOnFailure(() -> run(args));
    }

    private static void run(String[] args) throws Exception {
        py = CPython.start();
        switch (args[0]) {
            case "out-of-order" -> outOfOrder();
            case "dead-owner" -> deadOwner();
            case "blocked-holder" -> blockedHolder();
            default -> throw new IllegalArgumentException(args[0]);
        }
        System.out.println("done");
        System.out.flush();
        // a dead owner still holds the GIL: the interpreter cannot be closed; just end the JVM
        if (!args[0].equals("dead-owner")) py.close();
    }

    private static void outOfOrder() throws Exception {
        Gil outer = py.gil();
        Gil inner = py.gil();
        try {
            outer.close();
            System.out.println("outer closed before inner: no exception");
        } catch (IllegalStateException e) {
            System.out.println("outer closed before inner: " + e.getMessage());
        }
        AtomicReference<Throwable> other = new AtomicReference<>();
        Thread t = Thread.ofPlatform().start(() -> {
            try {
                inner.close();
            } catch (Throwable e) {
                other.set(e);
            }
        });
        t.join();
        System.out.println("inner closed on another thread: " + other.get().getMessage());
        try (PyObject r = py.eval("6 * 7")) {
            System.out.println("still inside both scopes: " + r.asLong());
        }
        py.defineFunction("close_outer", a -> {
            outer.close();
            return null;
        });
        try {
            py.exec("close_outer()");
        } catch (RuntimeException e) {
            System.out.println("outer closed from a Java function: " + (e.getMessage().contains("reverse order") ? "refused" : e));
        }
        inner.close();
        outer.close();
        outer.close();                                         // idempotent
        // the GIL is really free: another thread gets it
        CompletableFuture<Long> elsewhere = new CompletableFuture<>();
        Thread.ofPlatform().start(() -> {
            try (PyObject r = py.eval("20 + 22")) {
                elsewhere.complete(r.asLong());
            } catch (Throwable e) {
                elsewhere.completeExceptionally(e);
            }
        });
        System.out.println("another thread after both closed: " + elsewhere.get(60, TimeUnit.SECONDS));
    }

    private static ListAppender<ILoggingEvent> watchdogLog() {
        Logger logger = (Logger) LoggerFactory.getLogger("dev.panamapy.internal.GilWatchdog");
        ListAppender<ILoggingEvent> appender = new ListAppender<>();
        appender.start();
        logger.addAppender(appender);
        return appender;
    }

    private static ILoggingEvent awaitEvent(ListAppender<ILoggingEvent> log) throws InterruptedException {
        while (log.list.isEmpty()) Thread.sleep(10);      // the child's timeout bounds this wait
        return log.list.get(0);
    }

    private static void deadOwner() throws Exception {
        ListAppender<ILoggingEvent> log = watchdogLog();
        CountDownLatch opened = new CountDownLatch(1), end = new CountDownLatch(1);
        Thread owner = Thread.ofPlatform().name("leaves-gil-open").start(() -> {
            py.gil();                                          // never closed
            opened.countDown();
            try {
                end.await();
            } catch (InterruptedException ignored) {
                // ends either way
            }
        });
        opened.await();
        Thread waiter = Thread.ofPlatform().daemon(true).name("waits-for-gil").start(() -> py.eval("1"));
        while (!waitsForGil(waiter)) Thread.sleep(10);
        end.countDown();
        owner.join();
        ILoggingEvent e = awaitEvent(log);
        System.out.println("logged " + e.getLevel() + ": " + e.getFormattedMessage());
        System.out.println("waiter still waiting: " + waiter.isAlive());
    }

    private static boolean waitsForGil(Thread t) {
        for (StackTraceElement e : t.getStackTrace()) {
            if (e.getMethodName().equals("PyGILState_Ensure")) return true;
        }
        return false;
    }

    private static void blockedHolder() throws Exception {
        ListAppender<ILoggingEvent> log = watchdogLog();
        CompletableFuture<Long> answer = new CompletableFuture<>();
        CountDownLatch inFunction = new CountDownLatch(1);
        py.defineFunction("wait_for_other_thread", a -> {
            inFunction.countDown();
            return answer.join();                              // holds the GIL while waiting: the misuse
        });
        CompletableFuture<Long> call = new CompletableFuture<>();
        Thread.ofPlatform().name("holds-gil").start(() -> {
            try {
                call.complete(py.eval("wait_for_other_thread()").asLong());
            } catch (Throwable e) {
                call.completeExceptionally(e);
            }
        });
        inFunction.await();
        CompletableFuture<Long> other = new CompletableFuture<>();
        Thread.ofPlatform().name("needs-gil").start(() -> {
            try (PyObject r = py.eval("40 + 2")) {             // waits for the GIL the function holds
                long v = r.asLong();
                other.complete(v);
                answer.complete(v);                            // what the function waits for, too late
            } catch (Throwable e) {
                other.completeExceptionally(e);
            }
        });
        ILoggingEvent e = awaitEvent(log);
        System.out.println("logged " + e.getLevel() + ": " + e.getFormattedMessage());
        answer.complete(42L);                                  // break the deadlock by hand
        System.out.println("function returned " + call.get(60, TimeUnit.SECONDS));
        System.out.println("other thread got " + other.get(60, TimeUnit.SECONDS));
    }
}
