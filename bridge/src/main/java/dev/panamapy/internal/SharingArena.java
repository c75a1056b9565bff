package dev.panamapy.internal;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;

/**
 * The arena of {@code CPython.arena()}: its memory outlives its {@code close()} for as long as
 * Python can reach it. Every live {@code panamapy.JavaBuffer} that exported its memory pins it
 * (a static export from its creation, a dynamic one from its first view of it) until that
 * Python object is deallocated, and the memory is freed, exactly once, when the arena is closed
 * and no longer pinned, whichever comes last. See {@link MemoryOwner}.
 */
final class SharingArena implements Arena {
    private final Arena delegate = Arena.ofShared();
    private int pins;                 // guarded by this
    private boolean closeRequested;   // guarded by this
    private boolean freed;            // guarded by this

    @Override
    public MemorySegment allocate(long byteSize, long byteAlignment) {
        synchronized (this) {
            if (closeRequested) throw new IllegalStateException("this arena is closed");
        }
        return delegate.allocate(byteSize, byteAlignment);
    }

    @Override
    public MemorySegment.Scope scope() { return delegate.scope(); }

    /** Frees the memory now if nothing pins it, else when the last pin goes. */
    @Override
    public void close() {
        boolean freeNow;
        synchronized (this) {
            if (closeRequested) throw new IllegalStateException("this arena is already closed");
            closeRequested = true;
            freeNow = pins == 0;
            if (freeNow) freed = true;
        }
        if (freeNow) free();
    }

    synchronized void pin() {
        if (freed) throw new IllegalStateException("this arena's memory was freed");
        pins++;
    }

    void unpin() {
        boolean freeNow;
        synchronized (this) {
            if (pins <= 0) throw new IllegalStateException("unpinned more often than pinned");
            pins--;
            freeNow = pins == 0 && closeRequested && !freed;
            if (freeNow) freed = true;
        }
        if (freeNow) free();
    }

    /** Whether the memory was given back. */
    synchronized boolean isFreed() { return freed; }

    private void free() {
        delegate.close();
        MemoryOwner.forget(this);
    }
}
