package build

// SOURCE_DATE_EPOCH, as BuildKit applies it: the image's created time and
// every history entry's are the epoch (those later than it clamped), and
// every layer entry's mtime later than the epoch is clamped to it, so two
// builds of the same context from scratch give the same image digest.

import (
	"archive/tar"
	"errors"
	"fmt"
	"io"
	"strconv"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/skiff-dev/skiff/image"
	"github.com/skiff-dev/skiff/store"
	"github.com/skiff-dev/skiff/userns"
)

// ParseSourceDateEpoch is SOURCE_DATE_EPOCH's value (seconds since 1970)
// as a time.
func ParseSourceDateEpoch(v string) (time.Time, error) {
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil || n < 0 {
		return time.Time{}, fmt.Errorf("invalid SOURCE_DATE_EPOCH: %s", v)
	}
	return time.Unix(n, 0).UTC(), nil
}

// epochKey is key for a build with SOURCE_DATE_EPOCH: its images differ
// in their times from those of a build without, so they are cached apart.
func (e *executor) epochKey(key string) string {
	if e.o.Epoch == nil {
		return key
	}
	return cacheKey(key, "SOURCE_DATE_EPOCH", strconv.FormatInt(e.o.Epoch.Unix(), 10))
}

// clampTimes sets cfg's created time to the epoch and clamps its history.
func (e *executor) clampTimes(cfg *v1.ConfigFile) {
	if e.o.Epoch == nil {
		return
	}
	epoch := v1.Time{Time: *e.o.Epoch}
	cfg.Created = epoch
	for i, h := range cfg.History {
		if h.Created.IsZero() || h.Created.After(*e.o.Epoch) {
			cfg.History[i].Created = epoch
		}
	}
}

// storeLayer stores the layer tar write produces (image.StoreWrittenLayer),
// its entries' mtimes clamped to epoch unless nil.
func storeLayer(s *store.Store, epoch *time.Time, write func(io.Writer) error) (*store.LayerInfo, error) {
	if epoch != nil {
		write = clampedTar(write, *epoch)
	}
	return image.StoreWrittenLayer(s, write, userns.Rootless())
}

// clampedTar is write with every entry's mtime later than epoch set to it.
func clampedTar(write func(io.Writer) error, epoch time.Time) func(io.Writer) error {
	return func(w io.Writer) error {
		pr, pw := io.Pipe()
		go func() { pw.CloseWithError(write(pw)) }()
		err := copyClamped(w, pr, epoch)
		pr.CloseWithError(errors.New("layer clamp gave up"))
		return err
	}
}

func copyClamped(w io.Writer, r io.Reader, epoch time.Time) error {
	tr, tw := tar.NewReader(r), tar.NewWriter(w)
	for {
		hdr, err := tr.Next()
		if err == io.EOF {
			return tw.Close()
		}
		if err != nil {
			return err
		}
		if hdr.ModTime.After(epoch) {
			hdr.ModTime = epoch
		}
		hdr.AccessTime, hdr.ChangeTime = time.Time{}, time.Time{}
		if err := tw.WriteHeader(hdr); err != nil {
			return fmt.Errorf("layer entry %s: %w", hdr.Name, err)
		}
		if _, err := io.Copy(tw, tr); err != nil {
			return fmt.Errorf("layer entry %s: %w", hdr.Name, err)
		}
	}
}
