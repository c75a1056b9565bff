/**
 * panamapy: CPython embedded in Java through the FFM API, sharing memory without copies.
 * Only {@code dev.panamapy} is exported; raw handles and segments stay inside.
 */
module dev.panamapy.bridge {
    requires dev.panamapy.bindings;
    requires org.slf4j;
    exports dev.panamapy;
}
