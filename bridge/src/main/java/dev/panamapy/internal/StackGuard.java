package dev.panamapy.internal;

import dev.panamapy.PythonException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.SymbolLookup;
import java.lang.invoke.MethodHandle;
import java.util.Arrays;

import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;

/**
 * Keeps recursion between Java and CPython inside the calling thread's real stack.
 *
 * <p>Java frames and CPython's C frames share one native stack. The JVM throws
 * StackOverflowError once fewer than about {@value #JVM_ZONES} bytes remain (its guard zones and
 * the shadow zone it keeps for native code), and an upcall entered below that line fails before
 * any handler can run: the JVM dies. CPython does not look at the stack at all (before 3.14): it
 * counts recursion against limits that assume an 8 MiB stack (3.9-3.11: one count for Python and
 * C recursion, {@code sys.getrecursionlimit()}; 3.12 and 3.13: a separate, fixed C recursion
 * limit, 10,000 on 3.13). A Java thread has 1 MiB by default, and every level of Java calling
 * Python calling Java takes some of it.
 *
 * <p>So on every entry into Python ({@link Interpreter#enter()}), this class reads the real stack
 * pointer and lowers the thread state's recursion budget to what the stack left below it can
 * hold: {@value #RESERVE} bytes kept back for the JVM and an upcall's error path, the rest at a
 * measured number of bytes per count for each CPython version (the most any of some thirty
 * recursion patterns took per count on x86-64: repr, json, pickle, deepcopy, __getattr__,
 * __setattr__, eval, re.sub, generators ...; {@code sorted(key=...)} recursing into itself takes
 * twice that and is not covered). A nested entry (Java code called from Python calling Python
 * again) gives the budget back when it returns; an outermost entry sets it afresh each time. An
 * entry that finds less than {@value #MIN_ROOM} bytes above the reserve is refused with Python's
 * RecursionError ({@link #exhausted()}, {@link #refusal}), so Java-Python-Java recursion ends in
 * RecursionError at any depth and on any thread stack size. The budget is only ever lowered: on
 * a thread whose stack holds CPython's own limits, they stand. (greenlet saves and restores the
 * same counters when it switches stacks.)
 *
 * <p>Works where the stack pointer can be read cheaply (Linux x86-64: {@code _setjmp} and the
 * C library's pointer guard, checked against the thread's stack bounds at start) and on the
 * CPython versions whose thread state layout is known and checked at run time (3.9 to 3.13).
 * Elsewhere it does nothing, says so once in the log, and only the upcall barrier's own
 * StackOverflowError handling remains.
 *
 * <p>Everything here runs on the calling thread; the fitting methods require the GIL.
 */
final class StackGuard {
    private StackGuard() { }

    private static final Logger LOG = LoggerFactory.getLogger(StackGuard.class);

    /**
     * The JVM's red, yellow and reserved zones plus its shadow zone with the JDK's defaults on
     * Linux x86-64 (1 + 2 + 1 + 20 pages of 4 KiB): Java code gets StackOverflowError, and an
     * upcall cannot even start, with less than this left.
     */
    static final long JVM_ZONES = 96 * 1024;
    /** What stays free below CPython's deepest point: the JVM's zones and room for an upcall's error path. */
    static final long RESERVE = JVM_ZONES + 32 * 1024;
    /** An entry into Python with less room than this above {@link #RESERVE} is refused. */
    static final long MIN_ROOM = 16 * 1024;
    /** Counts lent to CPython while it makes and fetches the RecursionError of a refusal. */
    private static final int HEADROOM = 50;

    private static final Linker LINKER = Linker.nativeLinker();
    private static final MethodHandle PTHREAD_SELF = libc("pthread_self", FunctionDescriptor.of(JAVA_LONG));
    private static final MethodHandle PTHREAD_GETATTR = libc("pthread_getattr_np", FunctionDescriptor.of(JAVA_INT, JAVA_LONG, ADDRESS));
    private static final MethodHandle PTHREAD_ATTR_GETSTACK = libc("pthread_attr_getstack",
            FunctionDescriptor.of(JAVA_INT, ADDRESS, ADDRESS, ADDRESS));
    private static final MethodHandle PTHREAD_ATTR_DESTROY = libc("pthread_attr_destroy", FunctionDescriptor.of(JAVA_INT, ADDRESS));

    /** A C library function, or null where there is none of that name. */
    private static MethodHandle libc(String name, FunctionDescriptor fd) {
        return LINKER.defaultLookup().find(name).map(a -> LINKER.downcallHandle(a, fd)).orElse(null);
    }

    // ---- the stack pointer ---------------------------------------------------------------------

    /** How the saved stack pointer in a jmp_buf is encoded; NONE: the guard is off. */
    private enum SpReader { GLIBC_MANGLED, PLAIN, NONE }

    private static final MethodHandle SETJMP;
    private static final long POINTER_GUARD;
    private static final SpReader READER;
    /** Index of the saved stack pointer in an x86-64 jmp_buf (glibc and musl: JB_RSP). */
    private static final int JB_RSP = 6;

    static {
        MethodHandle setjmp = null;
        long guard = 0;
        SpReader reader = SpReader.NONE;
        String why = null;
        try {
            if (!"amd64".equals(System.getProperty("os.arch")) || !System.getProperty("os.name", "").startsWith("Linux")) {
                why = "reading the stack pointer is implemented for Linux x86-64 only";
            } else {
                SymbolLookup libc = LINKER.defaultLookup();
                // saves registers, nothing else: a critical call; the buffer passed as a plain
                // address (its owner, the ThreadStack, keeps it alive) so that no session is acquired
                setjmp = LINKER.downcallHandle(libc.findOrThrow("_setjmp"), FunctionDescriptor.of(JAVA_INT, JAVA_LONG),
                        Linker.Option.critical(false));
                ThreadStack probe = new ThreadStack();
                if (probe.low == 0) {
                    why = "pthread_getattr_np gave no stack bounds";
                } else {
                    // glibc keeps the pointer guard in the thread control block, at %fs:0x30;
                    // pthread_self() is that block (its 'self' field, at 0x10, says so)
                    long self = (long) PTHREAD_SELF.invokeExact();
                    if (self != 0 && Mem.getLong(self + 0x10) == self) guard = Mem.getLong(self + 0x30);
                    for (SpReader r : new SpReader[] {SpReader.GLIBC_MANGLED, SpReader.PLAIN}) {
                        if (r == SpReader.GLIBC_MANGLED && guard == 0) continue;
                        if (plausible(setjmp, r, guard, probe)) { reader = r; break; }
                    }
                    if (reader == SpReader.NONE) why = "the stack pointer saved by _setjmp could not be decoded";
                }
            }
        } catch (Throwable t) {
            why = t.toString();
            reader = SpReader.NONE;
        }
        SETJMP = setjmp;
        POINTER_GUARD = guard;
        READER = reader;
        if (why != null) {
            LOG.info("stack depth guard off ({}): deep recursion between Java and Python can exhaust a thread's stack; "
                    + "give threads that call Python big stacks", why);
        }
    }

    /**
     * Two readings, the second from deeper frames, must lie inside the stack, close together.
     * Not necessarily in order: where the JIT compiles and inlines the calls before their first
     * use (-Xcomp), the deeper reading can even be a few hundred bytes higher. A wrong decoding
     * gives values far outside the stack.
     */
    private static boolean plausible(MethodHandle setjmp, SpReader r, long guard, ThreadStack s) throws Throwable {
        long a = decode(setjmp, r, guard, s);
        long b = deeper(8, setjmp, r, guard, s);
        return a > s.low && a < s.high && b > s.low && b < s.high && Math.abs(a - b) < 64 * 1024;
    }

    private static long deeper(int n, MethodHandle setjmp, SpReader r, long guard, ThreadStack s) throws Throwable {
        return n == 0 ? decode(setjmp, r, guard, s) : deeper(n - 1, setjmp, r, guard, s);
    }

    private static long decode(MethodHandle setjmp, SpReader r, long guard, ThreadStack s) throws Throwable {
        int ignored = (int) setjmp.invokeExact(s.jmpAddress);
        long saved = Mem.getLong(s.jmpAddress + JB_RSP * 8L);
        return r == SpReader.GLIBC_MANGLED ? Long.rotateRight(saved, 0x11) ^ guard : saved;
    }

    /**
     * The current stack pointer (near enough: the downcall's frame), or 0 when unknown. A
     * StackOverflowError on the way to _setjmp is thrown on, never read as "unknown": that would
     * let an entry with no stack left go on as if it had room without limit.
     */
    private static long sp(ThreadStack s) {
        try {
            int ignored = (int) SETJMP.invokeExact(s.jmpAddress);
        } catch (StackOverflowError e) {
            throw e;
        } catch (Throwable t) {
            return 0;
        }
        long saved = Mem.getLong(s.jmpAddress + JB_RSP * 8L);
        return READER == SpReader.GLIBC_MANGLED ? Long.rotateRight(saved, 0x11) ^ POINTER_GUARD : saved;
    }

    // ---- the thread's stack ----------------------------------------------------------------------

    /** One thread's stack bounds and bookkeeping; only its own thread touches it. */
    private static final class ThreadStack {
        final long low, high;                 // [low, high): 0, 0 when unknown
        final Thread thread = Thread.currentThread();
        final MemorySegment jmpBuf = Arena.ofAuto().allocate(256, 16);     // a jmp_buf is 200 bytes on x86-64
        final long jmpAddress = jmpBuf.address();
        /** Per nested entry: the budget it took away and the thread state it took it from. */
        int[] deltas = new int[16];
        long[] states = new long[16];
        int top;
        /** Room (bytes above {@link #RESERVE}) at the last entry; Long.MAX_VALUE when unknown. */
        long room = Long.MAX_VALUE;
        /** Whether the last outermost fit left the budget below CPython's own. */
        boolean lowered;

        ThreadStack() {
            long[] b = bounds();
            low = b[0];
            high = b[1];
        }

        void push(int delta, long tstate) {
            if (top == deltas.length) {
                deltas = Arrays.copyOf(deltas, top * 2);
                states = Arrays.copyOf(states, top * 2);
            }
            deltas[top] = delta;
            states[top++] = tstate;
        }
    }

    private static final ThreadLocal<ThreadStack> STACK = ThreadLocal.withInitial(ThreadStack::new);
    /** The last thread to look its stack up: most entries come from the thread before (as in Interpreter). */
    private static volatile ThreadStack last;

    private static ThreadStack current() {
        ThreadStack l = last;
        if (l != null && l.thread == Thread.currentThread()) return l;
        l = STACK.get();
        last = l;
        return l;
    }

    /** {low, high} of the calling thread's stack from pthread_getattr_np, or {0, 0}. */
    private static long[] bounds() {
        if (PTHREAD_SELF == null || PTHREAD_GETATTR == null || PTHREAD_ATTR_GETSTACK == null || PTHREAD_ATTR_DESTROY == null) {
            return new long[2];
        }
        try (Arena a = Arena.ofConfined()) {
            MemorySegment attr = a.allocate(256, 16);          // pthread_attr_t: 56 bytes on x86-64
            MemorySegment addr = a.allocate(ADDRESS), size = a.allocate(JAVA_LONG);
            long self = (long) PTHREAD_SELF.invokeExact();
            if ((int) PTHREAD_GETATTR.invokeExact(self, attr) != 0) return new long[2];
            try {
                if ((int) PTHREAD_ATTR_GETSTACK.invokeExact(attr, addr, size) != 0) return new long[2];
            } finally {
                int ignored = (int) PTHREAD_ATTR_DESTROY.invokeExact(attr);
            }
            long low = addr.get(ADDRESS, 0).address(), n = size.get(JAVA_LONG, 0);
            return low == 0 || n <= 0 ? new long[2] : new long[] {low, low + n};
        } catch (StackOverflowError e) {
            throw e;                    // not "no bounds": this thread's record would stay unguarded for good
        } catch (Throwable t) {
            return new long[2];
        }
    }

    // ---- CPython's recursion counters -------------------------------------------------------------

    /**
     * Where a thread state counts recursion: 3.9 and 3.10 count depth up against the
     * interpreter's limit ({@code recursion_depth}); 3.11 counts {@code recursion_remaining}
     * down (Python and C together); 3.12 and 3.13 count {@code c_recursion_remaining} down (C
     * only: Python-to-Python calls use no C stack there). Offsets from each version's
     * {@code cpython/pystate.h} (LP64), checked once at run time ({@link #checkLayout}).
     */
    private record Counter(int minor, int offset, boolean countsUp, int limitOffset, int bytesPerLevel, long reciprocal) {
        Counter(int minor, int offset, boolean countsUp, int limitOffset, int bytesPerLevel) {
            // floor(2^64 / bytesPerLevel): multiplyHigh(room, it) <= room / bytesPerLevel
            this(minor, offset, countsUp, limitOffset, bytesPerLevel,
                    java.math.BigInteger.ONE.shiftLeft(64).divide(java.math.BigInteger.valueOf(bytesPerLevel)).longValue());
        }
    }

    /**
     * The running CPython's counter and the functions used with it, looked up on first use
     * (under the GIL, libpython loaded). Static finals, so that the JIT inlines the calls.
     */
    private static final class CPy {
        /** null when the version's layout is unknown, or a lookup failed. */
        static final Counter COUNTER;
        static final MethodHandle THREAD_STATE, GET_LIMIT, ENTER_RECURSIVE, LEAVE_RECURSIVE;
        static final long EXC_RECURSION_ERROR;                // PyExc_RecursionError, borrowed; 0 if not found

        static {
            Counter counter = null;
            MethodHandle ts = null, limit = null, enter = null, leave = null;
            long exc = 0;
            int minor = -1;
            try {
                SymbolLookup py = SymbolLookup.loaderLookup();
                MethodHandle version = LINKER.downcallHandle(py.findOrThrow("Py_GetVersion"), FunctionDescriptor.of(ADDRESS));
                String v = ((MemorySegment) version.invokeExact()).reinterpret(64).getString(0);   // "3.11.7 (main, ..."
                String[] parts = v.split("[. ]", 3);
                minor = "3".equals(parts[0]) ? Integer.parseInt(parts[1]) : -1;
                // bytes per count: the most any recursion pattern took per count in measurements
                // on x86-64, rounded up (sorted(key=...) recursing into itself aside: 1.3-1.7 KiB)
                counter = switch (minor) {
                    case 9 -> new Counter(9, 32, true, -1, 800);
                    case 10 -> new Counter(10, 32, true, -1, 640);
                    case 11 -> new Counter(11, 32, false, 36, 720);
                    case 12 -> new Counter(12, 36, false, 32, 512);
                    case 13 -> new Counter(13, 52, false, 48, 512);
                    default -> null;
                };
                // both only read a field: critical calls (no thread state transition) are safe and cheaper
                ts = LINKER.downcallHandle(py.findOrThrow("PyThreadState_Get"), FunctionDescriptor.of(JAVA_LONG),
                        Linker.Option.critical(false));
                limit = LINKER.downcallHandle(py.findOrThrow("Py_GetRecursionLimit"), FunctionDescriptor.of(JAVA_INT),
                        Linker.Option.critical(false));
                enter = LINKER.downcallHandle(py.findOrThrow("Py_EnterRecursiveCall"), FunctionDescriptor.of(JAVA_INT, ADDRESS));
                leave = LINKER.downcallHandle(py.findOrThrow("Py_LeaveRecursiveCall"), FunctionDescriptor.ofVoid());
                exc = py.findOrThrow("PyExc_RecursionError").reinterpret(8).get(ADDRESS, 0).address();
            } catch (Throwable t) {
                counter = null;
                LOG.warn("cannot look up CPython's recursion functions ({}); recursion budgets are not fitted to thread stacks",
                        t.toString());
            }
            if (counter == null) {
                LOG.info("CPython 3.{}: its thread state layout is unknown to this version of panamapy, so its recursion "
                        + "limits are not fitted to Java thread stacks (deep C recursion on a small stack may crash)", minor);
            }
            COUNTER = counter;
            THREAD_STATE = ts;
            GET_LIMIT = limit;
            ENTER_RECURSIVE = enter;
            LEAVE_RECURSIVE = leave;
            EXC_RECURSION_ERROR = exc;
        }
    }

    /** Whether CPython's counter is known. Requires the GIL (first use: libpython initialized). */
    private static boolean resolve() {
        return CPy.COUNTER != null;
    }

    private static boolean loaded;                          // guarded by the GIL

    /**
     * Loads {@link CPy} on the first entry into Python, whatever the platform: an upcall's
     * StackOverflowError handler uses it, and must not be the one to pay for class loading.
     */
    private static void load() {
        if (!loaded) {
            long ignored = CPy.EXC_RECURSION_ERROR;
            loaded = true;
        }
    }

    /** 1: checked and right; -1: wrong, never touched; 0: not checked yet. Guarded by the GIL. */
    private static int layoutChecked;

    /**
     * Checks the counter's offset on a live thread state: one Py_EnterRecursiveCall must move it
     * by one in the expected direction, Py_LeaveRecursiveCall move it back, and the limit beside
     * it (3.11+) equal Py_GetRecursionLimit(). Requires the GIL.
     */
    private static boolean checkLayout(long tstate) throws Throwable {
        if (layoutChecked != 0) return layoutChecked == 1;
        Counter k = CPy.COUNTER;
        int v0 = Mem.getInt(tstate + k.offset);
        int rc = (int) CPy.ENTER_RECURSIVE.invokeExact(EMPTY_WHERE);
        if (rc != 0) {                            // already at CPython's limit here: decide another time
            dev.panamapy.bindings.Python_h.PyErr_Clear();
            return false;
        }
        int v1 = Mem.getInt(tstate + k.offset);
        CPy.LEAVE_RECURSIVE.invokeExact();
        int v2 = Mem.getInt(tstate + k.offset);
        boolean ok = v1 == v0 + (k.countsUp ? 1 : -1) && v2 == v0;
        if (ok && k.limitOffset >= 0) ok = Mem.getInt(tstate + k.limitOffset) == (int) CPy.GET_LIMIT.invokeExact();
        layoutChecked = ok ? 1 : -1;
        if (!ok) {
            LOG.warn("CPython 3.{}: the thread state does not look as expected (recursion counter at offset {}: {} {} {}); "
                    + "recursion limits are not fitted to thread stacks", k.minor, k.offset, v0, v1, v2);
        }
        return ok;
    }

    private static final MemorySegment EMPTY_WHERE = Arena.global().allocateFrom("");

    /** Recursion counts left on this thread state (3.9/3.10: the limit minus the depth). */
    private static int remaining(long tstate, int limit) {
        int v = Mem.getInt(tstate + CPy.COUNTER.offset);
        return CPy.COUNTER.countsUp ? limit - v : v;
    }

    /** Adds to the counts left (takes away with a negative n). */
    private static void addRemaining(long tstate, int n) {
        long at = tstate + CPy.COUNTER.offset;
        Mem.putInt(at, Mem.getInt(at) + (CPy.COUNTER.countsUp ? -n : n));
    }

    /** sys.getrecursionlimit() of a fresh CPython. */
    private static final int DEFAULT_LIMIT = 1000;

    /** 3.12+: CPython's C budget of a fresh thread state (Py_C_RECURSION_LIMIT), seen at the first outermost fit. */
    private static int cCeiling;                              // guarded by the GIL; 0 until seen

    /** The most the budget may be: CPython's own (3.9-3.11 the recursion limit); 0 while unknown. */
    private static int ceiling() throws Throwable {
        return CPy.COUNTER.minor <= 11 ? (int) CPy.GET_LIMIT.invokeExact() : cCeiling;
    }

    /**
     * Whether the budget is fitted. On 3.11 one count covers Python calls (which take no C stack
     * there) and C recursion: a limit raised above the default by sys.setrecursionlimit is
     * honoured as set, as standalone Python honours it, C recursion under it at the caller's risk
     * there as here. On 3.9 and 3.10 every Python call takes C stack too, so a raised limit is
     * still fitted: beyond the fit the stack would overflow.
     */
    private static boolean fitting(int ceiling) {
        return CPy.COUNTER.minor != 11 || ceiling <= DEFAULT_LIMIT;
    }

    /** Counts the room holds: room / bytesPerLevel, rounded down (a multiplication: this runs on every call). */
    private static int budget(long room) {
        if (room <= 0) return 0;
        return (int) Math.min(Integer.MAX_VALUE, Math.multiplyHigh(room, CPy.COUNTER.reciprocal));
    }

    // ---- the hooks ---------------------------------------------------------------------------------

    /**
     * An outermost entry, right after PyGILState_Ensure on a thread whose kept thread state runs
     * no Python frames: sets the budget to what this stack holds, never above CPython's own.
     * Touches the thread state only when the budget must differ from CPython's own (or did last
     * time). Never throws. Requires the GIL.
     */
    static void fitOutermost() {
        load();
        if (READER == SpReader.NONE) return;
        ThreadStack s = current();
        long room = s.room;                     // measured by this entry, before it took anything
        if (room == Long.MAX_VALUE) return;
        if (!resolve()) return;
        try {
            int ceiling = ceiling();
            int want = fitting(ceiling) ? Math.min(ceiling, budget(room)) : ceiling;
            if (ceiling != 0 && want == ceiling && !s.lowered) return;   // CPython's own budget stands
            long tstate = (long) CPy.THREAD_STATE.invokeExact();
            if (!checkLayout(tstate)) return;
            if (ceiling == 0) {                 // 3.12+, first outermost fit: this fresh state shows CPython's limit
                ceiling = cCeiling = Mem.getInt(tstate + CPy.COUNTER.offset);
                want = Math.min(ceiling, budget(room));
            }
            Mem.putInt(tstate + CPy.COUNTER.offset, CPy.COUNTER.countsUp ? ceiling - want : want);   // no frames: absolute
            s.lowered = want < ceiling;
        } catch (Throwable t) {
            // leave CPython's own budget
        }
    }

    /**
     * A nested entry (this thread holds the GIL already): lowers the budget to what the stack
     * left below holds, remembering by how much for {@link #leaveNested()}. Never throws; call
     * {@link #exhausted()} to learn whether the entry should be refused. Requires the GIL.
     */
    static void enterNested() {
        load();
        if (READER == SpReader.NONE) return;
        ThreadStack s = current();
        int delta = 0;
        long tstate = 0;
        long room = s.room;                     // measured by this entry, before it took anything
        if (room != Long.MAX_VALUE) {
            if (resolve()) {
                try {
                    int ceiling = ceiling();
                    int target = budget(room);
                    // with the stack holding CPython's whole budget, what is left of it fits too
                    if ((ceiling == 0 || target < ceiling) && fitting(ceiling)) {
                        tstate = (long) CPy.THREAD_STATE.invokeExact();
                        if (checkLayout(tstate)) {
                            int cur = remaining(tstate, ceiling);
                            if (cur > target) {
                                delta = cur - target;
                                addRemaining(tstate, -delta);
                            }
                        }
                    }
                } catch (Throwable t) {
                    delta = 0;
                }
            }
        }
        s.push(delta, tstate);
    }

    /** Ends {@link #enterNested()}: gives back what it took. Requires the GIL. */
    static void leaveNested() {
        if (READER == SpReader.NONE) return;
        ThreadStack s = current();
        if (s.top == 0) return;
        int delta = s.deltas[--s.top];
        if (delta != 0) addRemaining(s.states[s.top], delta);
    }

    /**
     * The first step of every entry into Python, before it takes or counts anything: measures
     * the room this thread's stack has left above {@link #RESERVE} (Long.MAX_VALUE when it
     * cannot be read), for {@link #fitOutermost()}, {@link #enterNested()} and
     * {@link #exhausted()}. With no room at all left the entry must not go on: below the
     * reserve a StackOverflowError could strike halfway through taking the GIL and leave it
     * taken. Needs no GIL.
     *
     * @throws StackOverflowError with less than {@link #RESERVE} bytes left (nothing taken)
     */
    static void measure() {
        if (READER == SpReader.NONE) return;
        ThreadStack s = current();
        long sp = sp(s);
        long room = sp == 0 || s.low == 0 ? Long.MAX_VALUE : sp - s.low - RESERVE;
        s.room = room;
        if (room < 0) {
            throw new StackOverflowError("only " + ((room + RESERVE) >> 10) + " KiB of this thread's stack are left, "
                    + "too little to call into Python safely; nothing was done (a thread with a bigger stack, "
                    + "new Thread(null, task, name, 16L << 20), gives more room)");
        }
    }

    /** Whether the last entry on this thread found too little stack to run Python safely. */
    static boolean exhausted() {
        if (READER == SpReader.NONE) return false;
        return current().room < MIN_ROOM;
    }

    /**
     * The refusal of an entry that found too little stack: Python's RecursionError, raised and
     * fetched so that, thrown out of a Java function, Python sees its own RecursionError again.
     * Requires the GIL.
     */
    static PythonException refusal(Constants c) {
        ThreadStack s = current();
        long left = s.room + RESERVE;
        String msg = "maximum recursion depth exceeded: only " + (left >> 10) + " KiB of this thread's "
                + ((s.high - s.low) >> 10) + " KiB stack are left, and calling into Python needs at least "
                + ((RESERVE + MIN_ROOM) >> 10) + " KiB (calls between Java and Python nest too deep; a thread with "
                + "a bigger stack, new Thread(null, task, name, 16L << 20), gives more room)";
        long exc = recursionErrorType();
        if (exc == 0) return new PythonException("RecursionError", msg, "", null);
        // the budget may be 0 here; raising and fetching the error takes a few counts (CPython
        // grants itself the same headroom while it handles a RecursionError)
        long tstate = 0;
        try {
            if (CPy.COUNTER != null && layoutChecked == 1) {
                tstate = (long) CPy.THREAD_STATE.invokeExact();
                addRemaining(tstate, HEADROOM);
            }
        } catch (Throwable t) {
            tstate = 0;
        }
        try (Arena a = Arena.ofConfined()) {
            dev.panamapy.bindings.Python_h.PyErr_SetString(Mem.ptr(exc), a.allocateFrom(msg));
            return Errors.fetch(c);
        } finally {
            if (tstate != 0) addRemaining(tstate, -HEADROOM);
        }
    }

    // ---- failures in upcalls -------------------------------------------------------------------------

    private static final MemorySegment JAVA_OVERFLOW = Arena.global().allocateFrom(
            "maximum recursion depth exceeded: the Java stack overflowed (java.lang.StackOverflowError) in Java code "
                    + "called from Python");

    /**
     * Sets Python's RecursionError for a StackOverflowError caught in an upcall: one downcall with
     * a message made at start, so that it needs almost no stack. Never throws. Requires the GIL.
     */
    static void raiseJavaOverflow() {
        try {
            long exc = recursionErrorType();
            if (exc != 0) dev.panamapy.bindings.Python_h.PyErr_SetString(Mem.ptr(exc), JAVA_OVERFLOW);
        } catch (Throwable ignored) {
            // the caller returns its error value regardless
        }
    }

    /** PyExc_RecursionError (borrowed), or 0 if it could not be looked up. Requires the GIL. */
    static long recursionErrorType() {
        return CPy.EXC_RECURSION_ERROR;
    }
}
