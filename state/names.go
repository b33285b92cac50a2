package state

import (
	"errors"
	"fmt"
	"io/fs"
	"math/rand/v2"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
)

// validName is docker's rule for container names, except that one character
// is enough (docker wants two; scripts written for skiff's docs use "x"). It
// also keeps a name safe as a file name in the name index. Compiled on first
// use: package init runs in every skiff process, the re-exec'd roles too, and
// only the commands that name a container need it.
var validName = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^[a-zA-Z0-9][a-zA-Z0-9_.-]*$`) })

// NameConflictError is docker's message for a name already taken.
type NameConflictError struct{ Name, ID string }

func (e *NameConflictError) Error() string {
	return fmt.Sprintf("Conflict. The container name \"/%s\" is already in use by container \"%s\". You have to remove (or rename) that container to be able to reuse that name.", e.Name, e.ID)
}

// CheckName validates a user-given name (a leading "/" is allowed, as docker).
func CheckName(name string) (string, error) {
	n := strings.TrimPrefix(name, "/")
	if !validName().MatchString(n) {
		return "", fmt.Errorf("Invalid container name (%s), only [a-zA-Z0-9][a-zA-Z0-9_.-] are allowed", name)
	}
	return n, nil
}

func namesDir(root string) string { return filepath.Join(root, "names") }

// ReserveName records name -> id in the name index. The container's
// directory must already exist: an entry whose directory is gone is debris
// from a crash and is taken over.
func ReserveName(root, runRoot, name, id string) error {
	n, err := CheckName(name)
	if err != nil {
		return err
	}
	l, err := lockNames(runRoot)
	if err != nil {
		return err
	}
	defer l.Unlock()
	return reserveLocked(root, runRoot, n, id)
}

func reserveLocked(root, runRoot, name, id string) error {
	p := filepath.Join(namesDir(root), name)
	b, err := os.ReadFile(p)
	switch {
	case err == nil:
		owner := strings.TrimSpace(string(b))
		if owner != id && ownerExists(root, runRoot, owner) {
			return &NameConflictError{Name: name, ID: owner}
		}
	case !errors.Is(err, fs.ErrNotExist):
		return fmt.Errorf("name index %s: %w", p, err)
	}
	if err := os.MkdirAll(namesDir(root), 0o700); err != nil {
		return fmt.Errorf("name index: %w", err)
	}
	if err := writeFileAtomic(p, []byte(id+"\n")); err != nil {
		return fmt.Errorf("name index %s: %w", p, err)
	}
	return nil
}

// ownerExists: the owner has a directory that is not debris of a create
// killed before it saved its record.
func ownerExists(root, runRoot, id string) bool {
	if removeDebris(root, runRoot, id) {
		return false
	}
	dir, err := Dir(root, id)
	if err != nil {
		return false
	}
	_, err = os.Stat(dir)
	return err == nil
}

// ReserveRandomName picks a free docker-style "adjective_surname" name for
// id, adding a digit as docker does when the plain names keep colliding.
func ReserveRandomName(root, runRoot, id string) (string, error) {
	l, err := lockNames(runRoot)
	if err != nil {
		return "", err
	}
	defer l.Unlock()
	for i := 0; i < 100; i++ {
		n := RandomName(i >= 10)
		err := reserveLocked(root, runRoot, n, id)
		if err == nil {
			return n, nil
		}
		var ce *NameConflictError
		if !errors.As(err, &ce) {
			return "", err
		}
	}
	return "", errors.New("no free random container name after 100 tries: pass --name")
}

// ReleaseName drops name from the index if it still points at id.
func ReleaseName(root, runRoot, name, id string) error {
	if name == "" {
		return nil
	}
	l, err := lockNames(runRoot)
	if err != nil {
		return err
	}
	defer l.Unlock()
	p := filepath.Join(namesDir(root), name)
	b, err := os.ReadFile(p)
	if err != nil || strings.TrimSpace(string(b)) != id {
		return nil
	}
	if err := os.Remove(p); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("name index %s: %w", p, err)
	}
	return nil
}

// RandomName returns "adjective_surname", with a trailing digit if withDigit.
func RandomName(withDigit bool) string {
	n := adjectives[rand.IntN(len(adjectives))] + "_" + surnames[rand.IntN(len(surnames))]
	if withDigit {
		n += fmt.Sprint(rand.IntN(10))
	}
	return n
}

var adjectives = []string{
	"agile", "amazing", "bold", "brave", "bright", "busy", "calm", "clever",
	"cool", "crisp", "daring", "eager", "elastic", "epic", "fervent", "fond",
	"gallant", "gentle", "happy", "hardy", "jolly", "keen", "kind", "lively",
	"loyal", "lucid", "merry", "modest", "nifty", "noble", "patient", "plucky",
	"proud", "quick", "quiet", "relaxed", "serene", "sharp", "steady", "sunny",
	"swift", "tender", "upbeat", "vibrant", "wise", "witty", "youthful", "zealous",
}

// surnames are scientists and engineers, in docker's spirit.
var surnames = []string{
	"babbage", "bardeen", "bohr", "boole", "cerf", "curie", "darwin", "dijkstra",
	"einstein", "euler", "faraday", "fermat", "feynman", "gauss", "goldberg", "hamilton",
	"hopper", "hypatia", "johnson", "kepler", "knuth", "lamarr", "lovelace", "maxwell",
	"meitner", "mirzakhani", "newton", "noether", "pascal", "pike", "ritchie", "shannon",
	"thompson", "torvalds", "turing", "wozniak", "yalow", "zuse",
}
