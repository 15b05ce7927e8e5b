//go:build !amd64 && !arm64

package exporttest

// sysSetns is 0 where the setns(2) number is not recorded here; Do then
// reports that it cannot enter a namespace.
const sysSetns = 0
