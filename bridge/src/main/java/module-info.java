/**
 * panamapy: CPython embedded in Java through the FFM API, sharing memory without copies.
 * Only {@code dev.panamapy} is exported; raw handles and segments stay inside.
 */
@SuppressWarnings("module")    // dev.panamapy.arrow is built after the bridge: "module not found" here
module dev.panamapy.bridge {
    requires dev.panamapy.bindings;
    requires org.slf4j;
    exports dev.panamapy;
    // the Arrow module builds on the bridge's internals (capsules, upcalls, the GIL); nobody else sees them
    exports dev.panamapy.internal to dev.panamapy.arrow;
}
