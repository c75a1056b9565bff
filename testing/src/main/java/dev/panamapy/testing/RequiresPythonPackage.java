package dev.panamapy.testing;

import org.junit.jupiter.api.extension.ExtendWith;

import java.lang.annotation.Documented;
import java.lang.annotation.ElementType;
import java.lang.annotation.Inherited;
import java.lang.annotation.Repeatable;
import java.lang.annotation.Retention;
import java.lang.annotation.RetentionPolicy;
import java.lang.annotation.Target;

/**
 * A test class (or method) that needs a Python package in the embedded CPython, e.g.
 * {@code @RequiresPythonPackage("numpy")}. Implies {@link PythonTest @PythonTest}. Whether a
 * missing package skips or fails the test is decided in one place, {@link PythonPackages}: it
 * fails (with the import error) when the package is required for this Python, because the
 * test command installed it, and it skips (with the reason) otherwise.
 *
 * <pre>{@code
 * @RequiresPythonPackage("numpy")
 * class NumpyReadsJavaTest { ... }
 *
 * @Test
 * @RequiresPythonPackage(value = "pillow", module = "PIL.Image")
 * void pilReadsJavaPixels(CPython py) { ... }
 * }</pre>
 */
@Target({ElementType.TYPE, ElementType.METHOD, ElementType.ANNOTATION_TYPE})
@Retention(RetentionPolicy.RUNTIME)
@Documented
@Inherited
@Repeatable(RequiresPythonPackage.List.class)
@PythonTest
@ExtendWith(PythonPackagesExtension.class)
public @interface RequiresPythonPackage {

    /** The distribution's name as pip knows it ({@code "numpy"}, {@code "pillow"}). */
    String value();

    /** The module to import, if it is not named like the distribution ({@code "PIL.Image"}); default: {@link #value}. */
    String module() default "";

    /** Several {@link RequiresPythonPackage}s on one element. */
    @Target({ElementType.TYPE, ElementType.METHOD, ElementType.ANNOTATION_TYPE})
    @Retention(RetentionPolicy.RUNTIME)
    @Documented
    @Inherited
    @PythonTest
    @ExtendWith(PythonPackagesExtension.class)
    @interface List {
        /** The packages. */
        RequiresPythonPackage[] value();
    }
}
