//go:build unix

package store

import (
	"errors"
	"syscall"
)

// processRuns reports whether a process with pid runs on this host (one
// of another user counts as running).
func processRuns(pid int) bool {
	err := syscall.Kill(pid, 0)
	return err == nil || errors.Is(err, syscall.EPERM)
}
