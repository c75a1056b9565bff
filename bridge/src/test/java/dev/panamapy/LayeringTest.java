package dev.panamapy;

import com.tngtech.archunit.base.DescribedPredicate;
import com.tngtech.archunit.core.domain.JavaClass;
import com.tngtech.archunit.core.domain.JavaClasses;
import com.tngtech.archunit.core.domain.JavaCodeUnit;
import com.tngtech.archunit.core.domain.JavaField;
import com.tngtech.archunit.core.domain.JavaMember;
import com.tngtech.archunit.core.domain.JavaModifier;
import com.tngtech.archunit.core.domain.JavaType;
import com.tngtech.archunit.core.importer.ClassFileImporter;
import com.tngtech.archunit.core.importer.ImportOption;
import com.tngtech.archunit.lang.ArchCondition;
import com.tngtech.archunit.lang.ConditionEvents;
import com.tngtech.archunit.lang.SimpleConditionEvent;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.SymbolLookup;
import java.lang.invoke.MethodHandle;
import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;

import static com.tngtech.archunit.core.domain.JavaClass.Predicates.belongToAnyOf;
import static com.tngtech.archunit.core.domain.JavaClass.Predicates.resideInAPackage;
import static com.tngtech.archunit.lang.syntax.ArchRuleDefinition.classes;
import static com.tngtech.archunit.lang.syntax.ArchRuleDefinition.noClasses;

/**
 * The layering rule of the bridge, checked on its class files: the public package
 * {@code dev.panamapy} speaks in its own types and leaves raw FFM and C-API plumbing to
 * {@code dev.panamapy.internal}, which in turn uses only the few public types it must.
 */
class LayeringTest {

    private static final String PUBLIC = "dev.panamapy";
    private static final String INTERNAL = "dev.panamapy.internal..";
    private static final String BINDINGS = "dev.panamapy.bindings..";

    /**
     * The public types internal code may use, each for a reason it cannot avoid. Anything else
     * in {@code dev.panamapy} is for users only, so internal code can change without them.
     */
    private static final Set<Class<?>> PUBLIC_TYPES_INTERNAL_USES = Set.of(
            PythonException.class,          // Errors builds it from the pending Python error
            PythonStartupException.class,   // LibPython, PythonInstallation, SupportRules, Interpreter refuse a Python with it
            PyObject.class,                 // Handles wraps a new reference in one (Java function arguments, callAs(Object))
            JavaFunction.class,             // Functions calls the user's function from Python
            BufferLayout.class,             // NativeView reads the user's layout into a Py_buffer
            BufferSpec.class,               // ExportState checks specs; ViewLayout describes a view as one
            HarnessSpec.class,              // NativeView reads the harness knobs; ViewLayout describes odd views as one
            BufferExporter.class,           // ExportState asks the user's exporter for a view
            BufferRequest.class);           // BufferRules decodes the request flags by their public names

    private static JavaClasses bridge;

    @BeforeAll
    static void importBridge() {
        bridge = new ClassFileImporter()
                .withImportOption(ImportOption.Predefined.DO_NOT_INCLUDE_TESTS)
                .withImportOption(location -> !location.contains("/dev/panamapy/bindings/"))   // seen as names: fast
                .importPackages(PUBLIC);
    }

    @Test
    void publicPackageMakesNoRawForeignCalls() {
        noClasses().that().resideInAPackage(PUBLIC)
                .should().dependOnClassesThat(resideInAPackage(BINDINGS)
                        .or(belongToAnyOf(MethodHandle.class, MethodHandles.class, VarHandle.class, Linker.class,
                                SymbolLookup.class, FunctionDescriptor.class)))
                .because("raw C-API plumbing lives in dev.panamapy.internal; the public package speaks in its own types")
                .check(bridge);
    }

    @Test
    void publicApiExposesNoInternalTypes() {
        classes().that().resideInAPackage(PUBLIC).and().arePublic()
                .should(exposeNoInternalTypes())
                .because("users of the module cannot see dev.panamapy.internal or the bindings")
                .check(bridge);
    }

    @Test
    void publicApiReturnsNoRawAddresses() {
        classes().that().resideInAPackage(PUBLIC).and().arePublic()
                .should(haveNoPublicMemberNamed(Set.of("address", "pyAddress", "ptr", "pointer")))
                .because("a raw address outlives the object it points into; views hand out bounded segments instead")
                .check(bridge);
    }

    @Test
    void internalUsesOnlyTheDocumentedPublicTypes() {
        Set<String> documented = new java.util.HashSet<>();
        for (Class<?> c : PUBLIC_TYPES_INTERNAL_USES) documented.add(c.getName());
        DescribedPredicate<JavaClass> undocumentedPublic = DescribedPredicate.describe(
                "a type of " + PUBLIC + " not listed in LayeringTest", c -> {
                    JavaClass base = c.isArray() ? c.getBaseComponentType() : c;    // BufferSpec[] is BufferSpec
                    while (base.getEnclosingClass().isPresent()) base = base.getEnclosingClass().get();
                    return base.getPackageName().equals(PUBLIC) && !documented.contains(base.getName());
                });
        noClasses().that().resideInAPackage(INTERNAL)
                .should().dependOnClassesThat(undocumentedPublic)
                .because("internal code uses only the public types listed in LayeringTest, each for a stated reason")
                .check(bridge);
    }

    /** No public or protected member of the class, nor its supertypes, names an internal or bindings type. */
    private static ArchCondition<JavaClass> exposeNoInternalTypes() {
        return new ArchCondition<>("expose no type of dev.panamapy.internal or the bindings") {
            @Override
            public void check(JavaClass c, ConditionEvents events) {
                List<String> bad = new ArrayList<>();
                for (JavaType t : c.getInterfaces()) if (hidden(t.toErasure())) bad.add("implements " + t.getName());
                c.getRawSuperclass().filter(LayeringTest::hidden).ifPresent(s -> bad.add("extends " + s.getName()));
                for (JavaMember m : c.getMembers()) {
                    if (!visible(m)) continue;
                    List<JavaClass> types = new ArrayList<>();
                    if (m instanceof JavaField f) types.add(f.getRawType());
                    if (m instanceof JavaCodeUnit u) {
                        types.add(u.getRawReturnType());
                        types.addAll(u.getRawParameterTypes());
                        u.getThrowsClause().getTypes().forEach(types::add);
                    }
                    for (JavaClass t : types) {
                        JavaClass base = t.isArray() ? t.getBaseComponentType() : t;
                        if (hidden(base)) bad.add(m.getFullName() + " uses " + base.getName());
                    }
                }
                for (String b : bad) events.add(SimpleConditionEvent.violated(c, c.getName() + ": " + b));
            }
        };
    }

    private static ArchCondition<JavaClass> haveNoPublicMemberNamed(Set<String> names) {
        return new ArchCondition<>("have no public member named " + names) {
            @Override
            public void check(JavaClass c, ConditionEvents events) {
                for (JavaMember m : c.getMembers()) {
                    if (visible(m) && names.contains(m.getName())) {
                        events.add(SimpleConditionEvent.violated(c, m.getFullName() + " is public"));
                    }
                }
            }
        };
    }

    private static boolean visible(JavaMember m) {
        return (m.getModifiers().contains(JavaModifier.PUBLIC) || m.getModifiers().contains(JavaModifier.PROTECTED))
                && !m.getModifiers().contains(JavaModifier.SYNTHETIC);
    }

    private static boolean hidden(JavaClass t) {
        String p = t.getPackageName();
        return p.startsWith("dev.panamapy.internal") || p.startsWith("dev.panamapy.bindings");
    }
}
