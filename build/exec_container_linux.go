package build

// Build containers: a RUN happens in a container of the step's parent
// image, and its overlay upper dir becomes the step's layer through the
// shared tar writer (the commit path).
//
// They live in a container store of their own (BuildContainers), so ps,
// rm, names and prune never see them. The build owns each one by holding
// its monitor lock from before its create until its removal (the build is
// its monitor: it starts the init itself, as a monitor does); a build
// container whose lock is free was left by a killed build, and
// SweepBuildContainers, which every skiff command runs, removes it with
// its process, cgroup and anonymous volumes.

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	"golang.org/x/sys/unix"

	"github.com/skiff-dev/skiff/cgroup"
	"github.com/skiff-dev/skiff/container"
	"github.com/skiff-dev/skiff/network"
	"github.com/skiff-dev/skiff/run"
	"github.com/skiff-dev/skiff/spec"
	"github.com/skiff-dev/skiff/state"
	"github.com/skiff-dev/skiff/store"
)

// BuildContainers is the store of build containers under the global
// store paths.
func BuildContainers(root, runRoot string) container.Store {
	return container.Store{Root: filepath.Join(root, "build"), RunRoot: filepath.Join(runRoot, "build"), Networks: network.RunDir(runRoot)}
}

// SweepBuildContainers removes what killed builds left: every build
// container whose build no longer holds its lock, with its process. With
// none (the usual case) it costs two ReadDirs of missing directories.
func SweepBuildContainers(cs container.Store) {
	SweepStdinContexts(StdinTmp(cs))
	SweepStdinContexts(secretsTmp(cs.RunRoot))
	ents, err := os.ReadDir(state.ContainersDir(cs.Root))
	if err != nil {
		return
	}
	for _, e := range ents {
		if !e.IsDir() || !state.ValidID(e.Name()) || state.MonitorAlive(cs.RunRoot, e.Name()) {
			continue
		}
		killBuildProcesses(e.Name())
		if rec, err := cs.Remove(e.Name(), true); err == nil {
			cs.RemoveAnonymousVolumes(rec)
		}
	}
	state.SweepDebris(cs.Root, cs.RunRoot)
}

// StdinTmp is where `build -` extracts a tar context: beside the build
// containers, swept with them.
func StdinTmp(cs container.Store) string { return filepath.Join(cs.Root, "tmp") }

// killBuildProcesses kills what runs in a dead build's container by its
// cgroup and waits (1 s at most) for the cgroup to empty: the build may
// have died between its process's start and the record naming its pid,
// which Remove alone would then not find.
func killBuildProcesses(id string) {
	cg, err := cgroup.Load(id)
	if err != nil {
		return
	}
	cg.Kill()
	for i := 0; i < 100 && cg.Delete() != nil; i++ {
		time.Sleep(10 * time.Millisecond)
	}
}

// buildContainer is one step's container, owned by this build.
type buildContainer struct {
	cs   container.Store
	c    *container.Container
	lock *os.File // its monitor lock, held by the build
	// epoch clamps its layer's mtimes (SOURCE_DATE_EPOCH; nil: none).
	epoch *time.Time
}

// newContainer creates a container of s's image (not started) for a RUN
// of argv with env added to the image's, with mounts (RUN --mount), in
// network (spec.Network*; "": loopback only).
func (e *executor) newContainer(s *stageState, argv, env []string, mounts []state.Mount, network string) (*buildContainer, error) {
	id, err := state.NewID()
	if err != nil {
		return nil, err
	}
	cs := e.o.Containers
	lock, err := state.LockMonitor(cs.RunRoot, id)
	if err != nil {
		return nil, err
	}
	img, err := e.specImage(s)
	if err != nil {
		lock.Close()
		return nil, err
	}
	none := ""
	o := spec.Options{ImageRef: img.ID, Args: argv, Env: env, Entrypoint: &none, Name: "skiff-build-" + id[:12]}
	o.Host.Mounts = mounts
	o.Network = network
	c, err := cs.CreateAs(id, img, o)
	if err != nil {
		lock.Close()
		state.RemoveLockFile(cs.RunRoot, id)
		return nil, fmt.Errorf("build container: %w", err)
	}
	return &buildContainer{cs: cs, c: c, lock: lock, epoch: e.o.Epoch}, nil
}

// specImage is s's image as a container's: its layers (an empty one for
// scratch) and config. Its VOLUMEs become the container's anonymous
// volumes, so what a RUN writes there is not in the layer, as docker's.
func (e *executor) specImage(s *stageState) (spec.Image, error) {
	cfg := s.cfg.Config
	if s.img == nil {
		empty := filepath.Join(e.o.Containers.Root, "empty")
		if err := os.MkdirAll(empty, 0o755); err != nil {
			return spec.Image{}, err
		}
		return spec.Image{ID: "scratch", LayerDirs: []string{empty}, Config: cfg}, nil
	}
	dirs := make([]string, len(s.img.Layers))
	for i, l := range s.img.Layers {
		dirs[i] = e.o.Images.LayerDir(l)
	}
	return spec.Image{ID: s.img.ID, LayerDirs: dirs, Config: cfg}, nil
}

// ID is the container's id.
func (b *buildContainer) ID() string { return b.c.State.ID }

// run starts the container's process with its output to out and waits
// for it; ctx's end (ctrl-c) kills it. It returns the exit status.
func (b *buildContainer) run(ctx context.Context, out io.Writer) (int, error) {
	pr, pw, err := os.Pipe()
	if err != nil {
		return 0, err
	}
	copied := make(chan struct{})
	go func() {
		io.Copy(out, pr)
		pr.Close()
		close(copied)
	}()
	err = b.c.Start(run.Stdio{Out: pw, Err: pw})
	pw.Close()
	if err != nil {
		<-copied
		b.c.Cleanup(125)
		return 0, err
	}
	stop := context.AfterFunc(ctx, func() { b.cs.Kill(b.ID(), unix.SIGKILL) })
	code := b.c.Wait()
	b.c.DetachNetwork() // the build is its monitor: its veth and address go now
	stop()
	<-copied
	if err := b.c.Cleanup(code); err != nil {
		return code, err
	}
	if ctx.Err() != nil {
		return code, ctx.Err()
	}
	return code, nil
}

// layer stores the container's changes as a layer.
func (b *buildContainer) layer(s *store.Store) (*store.LayerInfo, error) {
	return storeLayer(s, b.epoch, func(w io.Writer) error { return b.cs.WriteChanges(w, b.c.State) })
}

// remove removes the container, its cgroup and anonymous volumes; the
// lock goes last, so no sweep takes it for a dead build's meanwhile.
func (b *buildContainer) remove() error {
	id := b.ID()
	rec, err := b.cs.Lookup(id)
	if err == nil {
		// Our own lock makes Remove see a live monitor: let it go first,
		// the process is gone.
		b.lock.Close()
		rec, err = b.cs.Remove(id, true)
		if err == nil {
			err = b.cs.RemoveAnonymousVolumes(rec)
		}
	} else {
		b.lock.Close()
	}
	if errors.Is(err, state.ErrNotFound) {
		return nil
	}
	return err
}
