package server

import (
	"time"

	"github.com/skiff-dev/skiff/state"
)

// shouldRestart is docker's restart manager decision for a process that
// exited with code, given its record (policy, restarts so far, whether
// stop or kill ended it).
func shouldRestart(c *state.Container, code int) bool {
	if c.ManuallyStopped || c.Config.AutoRemove {
		return false
	}
	p := c.Config.RestartPolicy
	switch p.Name {
	case "always", "unless-stopped":
		return true
	case "on-failure":
		return code != 0 && (p.MaximumRetryCount == 0 || c.RestartCount < p.MaximumRetryCount)
	}
	return false
}

// backoff is docker's restart delay: 100 ms doubling on each restart up to
// a minute, back to 100 ms once the process had run for 10 s.
type backoff struct{ d time.Duration }

const (
	backoffMin   = 100 * time.Millisecond
	backoffMax   = time.Minute
	backoffReset = 10 * time.Second
)

func (b *backoff) next(ranFor time.Duration) time.Duration {
	switch {
	case b.d == 0 || ranFor >= backoffReset:
		b.d = backoffMin
	default:
		b.d = min(2*b.d, backoffMax)
	}
	return b.d
}
