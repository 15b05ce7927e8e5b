package exporttest

// sysSetns is setns(2)'s system call number, which package syscall does
// not name.
const sysSetns = 268
