package dev.panamapy.nativetests.safety;

import dev.panamapy.testing.PythonTest;
import org.junit.jupiter.api.Tag;

import java.lang.annotation.Documented;
import java.lang.annotation.ElementType;
import java.lang.annotation.Inherited;
import java.lang.annotation.Retention;
import java.lang.annotation.RetentionPolicy;
import java.lang.annotation.Target;

/**
 * The adversarial suite: tests that drive the public API with hostile but legal input (edges of
 * {@code long}, read-only and foreign memory, every close order, recursion through upcalls,
 * strings with NUL and lone surrogates, virtual threads, interrupts) and assert that nothing
 * crashes, hangs, leaks or poisons the next call. Tagged {@code adversarial}; a class runs in a
 * JVM of its own, and a case whose failure would be a crash or a hang of the interpreter runs in
 * a child JVM through {@link ChildJvm}.
 */
@Target(ElementType.TYPE)
@Retention(RetentionPolicy.RUNTIME)
@Documented
@Inherited
@Tag("adversarial")
@PythonTest
public @interface Adversarial {
}
