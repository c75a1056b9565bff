package dev.panamapy.internal;

import dev.panamapy.BufferRequest;
import org.junit.jupiter.api.Test;

import static dev.panamapy.BufferRequest.*;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The PEP 3118 request rules without a Python: each rule's refusal in {@code _testbuffer}'s
 * order and words, what a filled view carries, and the accepted-requests bitmap of a static
 * export agreeing with the rules for every request and every layout fact.
 */
class BufferRulesTest {

    private static String refusal(int flags, boolean readOnly, boolean c, boolean f, boolean sub) {
        return BufferRules.refusal(flags, readOnly, c, f, sub);
    }

    @Test
    void theRequestSpaceCoversEveryKnownBit() {
        assertEquals(512, BufferRules.REQUESTS);
        assertEquals(0x1FD, BufferRules.KNOWN_BITS);
        assertEquals(0, BufferRules.KNOWN_BITS & ~(BufferRules.REQUESTS - 1));
    }

    @Test
    void writableOnAReadOnlyViewIsRefusedFirst() {
        assertEquals("JavaBuffer is not writable", refusal(PyBUF_WRITABLE | PyBUF_C_CONTIGUOUS, true, false, false, true));
        assertNull(refusal(PyBUF_WRITABLE, false, true, true, false));
        assertNull(refusal(PyBUF_SIMPLE, true, true, true, false), "a read-only view serves read-only requests");
    }

    @Test
    void contiguityRequestsNeedThatContiguity() {
        assertEquals("JavaBuffer is not C-contiguous", refusal(PyBUF_C_CONTIGUOUS, false, false, true, false));
        assertEquals("JavaBuffer is not Fortran contiguous", refusal(PyBUF_F_CONTIGUOUS, false, true, false, false));
        assertEquals("JavaBuffer is not contiguous", refusal(PyBUF_ANY_CONTIGUOUS, false, false, false, false));
        assertNull(refusal(PyBUF_ANY_CONTIGUOUS, false, false, true, false));
        assertNull(refusal(PyBUF_F_CONTIGUOUS, false, false, true, false));
    }

    @Test
    void suboffsetsNeedAnIndirectRequest() {
        assertEquals("JavaBuffer cannot be represented without suboffsets", refusal(PyBUF_STRIDES, false, false, false, true));
        assertNull(refusal(PyBUF_INDIRECT, false, false, false, true));
    }

    @Test
    void noStridesNeedsACContiguousView() {
        assertEquals("JavaBuffer is not C-contiguous", refusal(PyBUF_ND, false, false, true, false));
        assertNull(refusal(PyBUF_ND, false, true, false, false));
        assertNull(refusal(PyBUF_STRIDES, false, false, false, false));
    }

    @Test
    void formatWithoutShapeIsRefused() {
        assertEquals("JavaBuffer: cannot cast to unsigned bytes if the format flag is present",
                refusal(PyBUF_FORMAT, false, true, true, false));
        assertNull(refusal(PyBUF_FORMAT | PyBUF_ND, false, true, true, false));
    }

    @Test
    void aFilledViewCarriesWhatWasRequested() {
        assertTrue(BufferRules.giveFormat(PyBUF_FORMAT));
        assertFalse(BufferRules.giveFormat(PyBUF_STRIDES));
        assertTrue(BufferRules.giveShape(PyBUF_ND));
        assertFalse(BufferRules.giveShape(PyBUF_SIMPLE));
        assertTrue(BufferRules.giveStrides(PyBUF_STRIDES));
        assertFalse(BufferRules.giveStrides(PyBUF_ND), "ND alone: strides = NULL");
    }

    @Test
    void theAcceptedBitmapAgreesWithTheRulesForEveryRequestAndLayout() {
        for (int facts = 0; facts < 16; facts++) {
            boolean ro = (facts & 1) != 0, c = (facts & 2) != 0, f = (facts & 4) != 0, sub = (facts & 8) != 0;
            long[] accepted = BufferRules.acceptedRequests(ro, c, f, sub, 0);
            for (int flags = 0; flags < BufferRules.REQUESTS; flags++) {
                assertEquals(refusal(flags, ro, c, f, sub) == null, BufferRules.accepts(accepted, flags),
                        BufferRequest.describe(flags) + " on facts " + facts);
            }
        }
    }

    @Test
    void requestsOutsideTheKnownSpaceAreNeverAcceptedByTheBitmap() {
        long[] all = BufferRules.acceptedRequests(false, true, true, false, 0);
        assertTrue(BufferRules.accepts(all, PyBUF_SIMPLE));
        for (int flags : new int[]{BufferRules.REQUESTS, 0x200 | PyBUF_ND, -1, Integer.MIN_VALUE, 1 << 20}) {
            assertFalse(BufferRules.accepts(all, flags), Integer.toHexString(flags));
        }
    }

    @Test
    void aHarnessRefusalTakesEveryRequestWithAllItsBits() {
        long[] accepted = BufferRules.acceptedRequests(false, true, true, false, PyBUF_WRITABLE | PyBUF_FORMAT);
        assertFalse(BufferRules.accepts(accepted, PyBUF_WRITABLE | PyBUF_FORMAT | PyBUF_ND));
        assertTrue(BufferRules.accepts(accepted, PyBUF_WRITABLE | PyBUF_ND), "only some of the bits: accepted");
        assertTrue(BufferRules.accepts(accepted, PyBUF_FORMAT | PyBUF_ND));
    }
}
