package dev.panamapy.testing;

import dev.panamapy.CPython;
import org.junit.jupiter.api.extension.BeforeAllCallback;
import org.junit.jupiter.api.extension.BeforeEachCallback;
import org.junit.jupiter.api.extension.ConditionEvaluationResult;
import org.junit.jupiter.api.extension.ExecutionCondition;
import org.junit.jupiter.api.extension.ExtensionContext;
import org.junit.platform.commons.support.AnnotationSupport;

import java.lang.reflect.AnnotatedElement;
import java.util.List;

/**
 * Applies {@link PythonPackages}' rule for {@link RequiresPythonPackage @RequiresPythonPackage}:
 * a class or method whose package is missing and not required is disabled with the reason (as a
 * condition, so no fixture of it runs); one whose package is required but does not import fails
 * before it runs (class: before {@code @BeforeAll}; method: before {@code @BeforeEach}).
 */
public final class PythonPackagesExtension implements ExecutionCondition, BeforeAllCallback, BeforeEachCallback {

    @Override
    public ConditionEvaluationResult evaluateExecutionCondition(ExtensionContext context) {
        List<RequiresPythonPackage> needs = needs(context.getElement().orElse(null));
        if (needs.isEmpty()) return ConditionEvaluationResult.enabled("no Python package needed");
        CPython py;
        try {
            py = PanamapyExtension.python();
        } catch (RuntimeException e) {
            return ConditionEvaluationResult.enabled("CPython did not start: the test reports it");
        }
        for (RequiresPythonPackage need : needs) {
            if (PythonPackages.importError(py, module(need)) != null) {
                String why = PythonPackages.whyMissing(py, need.value());
                if (why != null) {
                    return ConditionEvaluationResult.disabled(need.value() + " is not installed for Python "
                            + py.version() + " (" + py.executable() + "): " + why);
                }
            }
        }
        return ConditionEvaluationResult.enabled("every Python package needed imports, or is required");
    }

    @Override
    public void beforeAll(ExtensionContext context) {
        check(context.getRequiredTestClass());
    }

    @Override
    public void beforeEach(ExtensionContext context) {
        check(context.getRequiredTestMethod());
    }

    private static void check(AnnotatedElement element) {
        List<RequiresPythonPackage> needs = needs(element);
        if (needs.isEmpty()) return;
        CPython py = PanamapyExtension.python();
        for (RequiresPythonPackage need : needs) PythonPackages.require(py, need.value(), module(need));
    }

    private static List<RequiresPythonPackage> needs(AnnotatedElement element) {
        return element == null ? List.of() : AnnotationSupport.findRepeatableAnnotations(element, RequiresPythonPackage.class);
    }

    private static String module(RequiresPythonPackage need) {
        return need.module().isEmpty() ? need.value() : need.module();
    }
}
