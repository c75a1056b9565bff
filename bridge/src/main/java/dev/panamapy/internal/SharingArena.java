package dev.panamapy.internal;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;

/**
 * An arena whose memory outlives its {@code close()} for as long as Python holds buffers over
 * it: every live {@code panamapy.JavaBuffer} over its memory pins it, and the memory is freed
 * when it is closed and no longer pinned, whichever comes last.
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
        Exports.sharingArenaFreed(this);
    }
}
