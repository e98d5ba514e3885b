# Used by tests/vectors/CMakeLists.txt to register a test that fails with a
# message (for example when a harness dependency is missing).
message(FATAL_ERROR "${MSG}")
