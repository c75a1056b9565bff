/**
 * jextract output for the subset of CPython's Stable ABI that panamapy uses (generated from
 * CPython 3.11's headers with Py_LIMITED_API=0x030B0000 by scripts/regenerate-bindings; never
 * edited by hand). It names no library: the bridge loads libpython before first use.
 */
module dev.panamapy.bindings {
    exports dev.panamapy.bindings;
}
