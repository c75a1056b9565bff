/** A panamapy user's program, on the module path. */
module dev.panamapy.example.hello {
    requires dev.panamapy.bridge;
}
