package container

import "github.com/skiff-dev/skiff/run"

// Exec is `skiff exec`: it runs o.Args in running container ref (run.Exec
// with ref's true record and its config.json) and returns the process's
// exit status. Errors: the lookup's (state.ErrNotFound, a
// *state.AmbiguousError), or run.Exec's.
func (s Store) Exec(ref string, o run.ExecOptions) (int, error) {
	c, err := s.Lookup(ref)
	if err != nil {
		return 1, err
	}
	dir, err := s.Dir(c.ID)
	if err != nil {
		return 1, err
	}
	if c.Status.Up() { // else run.Exec says it is not running, as docker's first
		links, err := s.execLinkEnv(c)
		if err != nil {
			return 1, err
		}
		o.Env = append(links, o.Env...)
	}
	o.SeccompCache = s.seccompCache()
	return run.Exec(c, dir, o)
}
