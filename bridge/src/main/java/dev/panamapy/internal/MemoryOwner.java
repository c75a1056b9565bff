package dev.panamapy.internal;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

/**
 * Who frees the memory behind an exported segment, which decides what an export may promise.
 * Static and dynamic exports ask the same question here, once per segment they hand out.
 *
 * <p><b>The rule.</b> An owner is only what the caller stated or what documented JDK behaviour
 * proves, never a guess from implementation classes:
 * <ul>
 *   <li><b>The bridge</b> ({@link #bridgeFrees()}): the segment's scope is
 *       {@linkplain MemorySegment.Scope#equals equal} (documented: "the same lifetime") to the
 *       scope of an arena the caller got from {@code CPython.arena()}, a {@link SharingArena}
 *       registered here when it was made. The caller stated, by allocating from it, that the
 *       bridge decides when the memory goes: every Python object that exported it
 *       {@linkplain #retain() retains} it until that object is deallocated, and the memory is
 *       freed when the arena is closed and the last retainer is gone, in whichever order.</li>
 *   <li><b>The caller</b>: everything else. The bridge keeps such a segment, and with it its
 *       scope, reachable for as long as the Python object lives, which by the JDK's rules keeps
 *       memory of an automatic scope ({@code Arena.ofAuto()}, a direct buffer through
 *       {@code MemorySegment.ofBuffer}) allocated; but it cannot prove that anything keeps the
 *       memory, so it promises nothing: a tracked export refuses {@code JavaBuffer.close()}
 *       while views live and refuses new views once the scope is not alive; an untracked
 *       export refuses such memory.</li>
 * </ul>
 *
 * <p><b>Why nothing else can be proven</b> (JDK 25 javadoc of {@code MemorySegment.Scope},
 * {@code MemorySegment.ofBuffer}, {@code MemorySegment.ofAddress}): an automatic scope "is
 * always alive as long as it is reachable", but no public API tells an automatic scope from one
 * that an arena's {@code close()} ends; {@code ofBuffer} of a buffer made by
 * {@code asByteBuffer()} takes over that segment's scope, possibly a confined arena's; and the
 * global scope of {@code Arena.global()} is also the scope of
 * {@code MemorySegment.ofAddress(p).reinterpret(n)}, memory nothing keeps.
 *
 * <p>Thread-safe: the registry is concurrent, {@link SharingArena} locks itself.
 */
public final class MemoryOwner {

    /** Arenas from {@code CPython.arena()} whose memory is not freed yet, by their scope. */
    private static final Map<MemorySegment.Scope, SharingArena> SHARING = new ConcurrentHashMap<>();

    private final MemorySegment.Scope scope;     // kept reachable while the owner is held
    private final SharingArena arena;            // null: the caller's memory

    private MemoryOwner(MemorySegment.Scope scope, SharingArena arena) {
        this.scope = scope;
        this.arena = arena;
    }

    /** A new arena whose memory the bridge frees once it is closed and no Python object retains it. */
    public static Arena newSharingArena() {
        SharingArena a = new SharingArena();
        SHARING.put(a.scope(), a);
        return a;
    }

    /** The arena's memory was freed: its scope names no owner any more. */
    static void forget(SharingArena a) {
        SHARING.remove(a.scope(), a);
    }

    /** The owner of a segment's memory, by the rule in the class comment. Allocates one small object. */
    static MemoryOwner of(MemorySegment segment) {
        MemorySegment.Scope s = segment.scope();
        return new MemoryOwner(s, SHARING.get(s));
    }

    /** Whether the bridge decides when the memory is freed (memory from {@code CPython.arena()}). */
    boolean bridgeFrees() { return arena != null; }

    /** The scope this owner stands for. */
    MemorySegment.Scope scope() { return scope; }

    /**
     * Keeps the memory allocated until {@link #release()}: pins a sharing arena; for the caller's
     * memory only this object's reference to the scope (see the class comment).
     *
     * @throws IllegalStateException if the memory is already freed
     */
    void retain() {
        if (arena != null) {
            arena.pin();
        } else if (!scope.isAlive()) {
            throw new IllegalStateException("the memory's arena is already closed");
        }
    }

    /** Ends one {@link #retain()}; a sharing arena that was closed frees its memory with the last. */
    void release() {
        if (arena != null) arena.unpin();
    }
}
