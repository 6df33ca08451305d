package cluster

import "syscall"

// sysProcAttr has the kernel kill etcd and kube-apiserver when the test binary dies without
// running its cleanups (a panic, or go test's -timeout), so they do not linger holding ports
// and memory. The kernel sends the signal when the thread that started the child exits; the Go
// runtime ends a thread only when a goroutine locked to it (LockOSThread) returns locked, which
// Start's callers have no reason to do.
func sysProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
}
