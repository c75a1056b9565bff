package dev.panamapy.testing;

import org.junit.jupiter.api.extension.ExtendWith;

import java.lang.annotation.Documented;
import java.lang.annotation.ElementType;
import java.lang.annotation.Inherited;
import java.lang.annotation.Retention;
import java.lang.annotation.RetentionPolicy;
import java.lang.annotation.Target;

/**
 * Marks a test class (or method) that runs against the embedded CPython: shorthand for
 * {@code @ExtendWith(PanamapyExtension.class)}. A {@link dev.panamapy.CPython} parameter of a
 * test method, lifecycle method or constructor is then injected; see {@link PanamapyExtension}
 * for which Python and for how long.
 *
 * <pre>{@code
 * @PythonTest
 * class NumpyReadsJavaTest {
 *     @Test
 *     void meanOfJavaDoubles(CPython py) { ... }
 * }
 * }</pre>
 */
@Target({ElementType.TYPE, ElementType.METHOD, ElementType.ANNOTATION_TYPE})
@Retention(RetentionPolicy.RUNTIME)
@Documented
@Inherited
@ExtendWith(PanamapyExtension.class)
public @interface PythonTest {
}
