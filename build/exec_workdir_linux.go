package build

import (
	"archive/tar"
	"fmt"
	"io"

	"github.com/moby/buildkit/frontend/dockerfile/instructions"
)

// workdirStep is WORKDIR: the config's working directory and, as docker's
// classic builder does, the directory itself (root's, 0755, with missing
// parents) in a layer of its own when the image lacks it, so that a later
// `COPY f .` lands in it and RUN starts there. When it exists the step
// changes the config only (empty_layer).
func (e *executor) workdirStep(s *stageState, cmd *instructions.WorkdirCommand, text string) error {
	// "dir": a WORKDIR step's result holds its directory (an older
	// skiff's cached WORKDIR did not).
	next, createdBy, key, err := metaStep(s, cmd, text, "dir")
	if err != nil || e.cached(s, key) {
		return err
	}
	base, release, err := e.stageView(s)
	if err != nil {
		return err
	}
	defer release()
	dir := next.Config.WorkingDir
	if base >= 0 && isDirInRoot(base, dir) {
		s.cfg = next
		return e.commit(s, createdBy, nil, key)
	}
	rel, err := resolveInRoot(base, dir)
	if err != nil {
		return fmt.Errorf("WORKDIR %s: %w", dir, err)
	}
	layer, err := storeLayer(e.o.Images, e.o.Epoch, func(w io.Writer) error {
		lw := &layerWriter{tw: tar.NewWriter(w)}
		if err := writeParents(lw, base, rel, owner{}); err != nil {
			return fmt.Errorf("WORKDIR %s: %w", dir, err)
		}
		return lw.tw.Close()
	})
	if err != nil {
		return err
	}
	s.cfg = next
	return e.commit(s, createdBy, layer, key)
}
