package dev.panamapy.nativetests.safety;

import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * Issue 15 class 1, the consumer side: a Python exporter can hand {@link dev.panamapy.PyBufferView}
 * any shape, strides, len and itemsize ({@code _testbuffer.ndarray} wraps {@code len} for a shape
 * of {@code [2**62, 2]}; a careless C exporter, played by an unchecked JavaBuffer, can say
 * anything). Java never makes a segment beyond what the buffer covers and never wraps: it reads
 * legal layouts correctly (stride 0 over 2^40 items, negative strides, empty, PIL-style) and
 * refuses the others with IllegalStateException before reading. Each case runs in a child JVM
 * ({@link HostileBufferLayoutMain}), since a failure would be SIGSEGV; every view is released.
 */
@Adversarial
class HostileBufferLayoutTest {

    @ParameterizedTest(name = "{0}")
    @CsvSource(delimiter = '|', textBlock = """
            testbuffer-wrapped-len      | REFUSED IllegalStateException: malformed buffer: len = -9223372036854775808 is negative
            testbuffer-len-0-huge-shape | REFUSED IllegalStateException: malformed buffer: shape [2147483648, 2147483648, 4] has more items than a long counts
            testbuffer-huge-zero-stride | ACCEPTED segment=1 items=1099511627776 first=0 last=0 copy=UnsupportedOperationException
            testbuffer-negative-strides | ACCEPTED segment=16 origin=15 [0,0]=15 [1,2]=9 [3,3]=0 all=[15, 14, 13, 12, 11, 10, 9, 8, 7, 6, 5, 4, 3, 2, 1, 0]
            testbuffer-empty-huge       | ACCEPTED segment=0 items=0 copy=0
            testbuffer-pil              | ACCEPTED segment=24 suboffsets=[0, -1] all=[0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11]
            java-wrapping-strides       | REFUSED IllegalStateException: malformed buffer: the strides' positive reach does not fit in a long
            java-len-mismatch           | REFUSED IllegalStateException: malformed buffer: len = 1000 but itemsize * product(shape) = 16
            java-ndim-65                | REFUSED IllegalStateException: malformed buffer: ndim = 65 is outside [0, 64]
            java-negative-shape         | REFUSED IllegalStateException: malformed buffer: shape[0] = -1 is negative
            java-negative-itemsize      | REFUSED IllegalStateException: malformed buffer: itemsize = -1 is negative
            java-address-wrap           | REFUSED IllegalStateException: malformed buffer: address 0x
            java-min-stride             | REFUSED IllegalStateException: malformed buffer: the span of the strides does not fit in a long
            java-pointer-at-the-top     | ACCEPTED segment=8 [0,2]=IllegalStateException [0,0]=IllegalStateException
            """)
    void aHostileLayoutIsReadCorrectlyOrRefusedNeverReadOutside(String layout, String expected) throws Exception {
        ChildJvm.main(HostileBufferLayoutMain.class).args(layout).timeout(120).run()
                .assertExit(0)
                .assertOutputContains("RESULT " + expected)
                .assertOutputContains("LIVE VIEWS 0");
    }
}
