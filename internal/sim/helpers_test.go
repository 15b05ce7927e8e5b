package sim

import "os"

// testOutDir lets a developer keep a test's outputs: PROXYWATCH_SIM_KEEP=dir.
func testOutDir() string { return os.Getenv("PROXYWATCH_SIM_KEEP") }
