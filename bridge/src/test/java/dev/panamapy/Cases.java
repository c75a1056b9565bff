package dev.panamapy;

import java.util.List;
import java.util.SplittableRandom;
import java.util.function.Consumer;
import java.util.function.Function;
import java.util.function.LongSupplier;
import java.util.function.Supplier;

/**
 * Seeded generated cases: a property is checked on {@code tries} values drawn from a fixed seed,
 * so every run checks the same cases, and a failure names the seed, the case number and the value.
 */
final class Cases {

    private Cases() { }

    /** Draws {@code tries} values with {@code gen} from {@code seed} and checks each with {@code property}. */
    static <T> void check(long seed, int tries, Function<Gen, T> gen, Consumer<T> property) {
        Gen g = new Gen(new SplittableRandom(seed));
        for (int i = 0; i < tries; i++) {
            T value = gen.apply(g);
            try {
                property.accept(value);
            } catch (AssertionError | RuntimeException e) {
                AssertionError failure = new AssertionError("case " + i + " of seed " + seed + " failed for " + show(value)
                        + ": " + e.getMessage(), e);
                throw failure;
            }
        }
    }

    private static String show(Object v) {
        if (v instanceof long[] a) return java.util.Arrays.toString(a);
        if (v instanceof Object[] a) return java.util.Arrays.deepToString(a);
        return String.valueOf(v);
    }

    /** The source of values for one run. */
    static final class Gen {
        private final SplittableRandom r;

        Gen(SplittableRandom r) { this.r = r; }

        /** Any long, uniformly. */
        long anyLong() { return r.nextLong(); }

        /** A long in {@code [min, max]}, both inclusive, for any bounds {@code min <= max}. */
        long between(long min, long max) {
            if (max == Long.MAX_VALUE) {
                if (min == Long.MIN_VALUE) return r.nextLong();
                return r.nextLong(min - 1, max) + 1;
            }
            return r.nextLong(min, max + 1);
        }

        boolean bool() { return r.nextBoolean(); }

        /** One of the values, uniformly. */
        long ofLongs(long... values) { return values[r.nextInt(values.length)]; }

        @SafeVarargs
        final <T> T of(T... values) { return values[r.nextInt(values.length)]; }

        <T> T of(List<T> values) { return values.get(r.nextInt(values.size())); }

        /** {@code n} longs from {@code element}. */
        long[] longs(int n, LongSupplier element) {
            long[] out = new long[n];
            for (int i = 0; i < n; i++) out[i] = element.getAsLong();
            return out;
        }

        /** 0 to {@code maxSize} longs from {@code element}. */
        long[] upTo(int maxSize, LongSupplier element) { return longs(r.nextInt(maxSize + 1), element); }

        /** Picks a source with probability proportional to its weight. */
        long weighted(int w1, LongSupplier a, int w2, LongSupplier b) {
            return weighted(new int[]{w1, w2}, a, b);
        }

        long weighted(int w1, LongSupplier a, int w2, LongSupplier b, int w3, LongSupplier c) {
            return weighted(new int[]{w1, w2, w3}, a, b, c);
        }

        long weighted(int w1, LongSupplier a, int w2, LongSupplier b, int w3, LongSupplier c, int w4, LongSupplier d) {
            return weighted(new int[]{w1, w2, w3, w4}, a, b, c, d);
        }

        private long weighted(int[] weights, LongSupplier... sources) {
            return sources[index(weights)].getAsLong();
        }

        /** Like {@link #weighted(int, LongSupplier, int, LongSupplier)} for objects. */
        <T> T weightedOf(int w1, Supplier<T> a, int w2, Supplier<T> b, int w3, Supplier<T> c, int w4, Supplier<T> d) {
            int i = index(new int[]{w1, w2, w3, w4});
            return (i == 0 ? a : i == 1 ? b : i == 2 ? c : d).get();
        }

        private int index(int[] weights) {
            int total = 0;
            for (int w : weights) total += w;
            int pick = r.nextInt(total);
            for (int i = 0; ; i++) {
                pick -= weights[i];
                if (pick < 0) return i;
            }
        }

        /** Draws until {@code source} gives a non-null value. */
        <T> T until(Supplier<T> source) {
            for (int i = 0; i < 10_000; i++) {
                T v = source.get();
                if (v != null) return v;
            }
            throw new AssertionError("the generator gave null 10,000 times in a row");
        }
    }
}
