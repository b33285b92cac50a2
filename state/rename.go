package state

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// Errors are docker's words: a taken or invalid name is "Error when
// allocating new name: " and the reason (*NameConflictError for a taken one).

// ErrSameName is docker's refusal to rename a container to its own name.
var ErrSameName = errors.New("Renaming a container with the same name as its current name")

// Rename gives container id the name newName (docker's rules: a valid name,
// not its current one, not another container's). Under the container's
// lock and then the name lock (the order create takes them), the new name
// is reserved, the record saved, and only then is the old name released,
// so no moment exists where neither name, or another container, holds it.
// It returns the old name.
func Rename(root, runRoot, id, newName string) (string, error) {
	n, err := CheckName(newName)
	if err != nil {
		return "", fmt.Errorf("Error when allocating new name: %w", err)
	}
	cl, err := LockContainer(runRoot, id)
	if err != nil {
		return "", err
	}
	defer cl.Unlock()
	c, err := Load(root, id)
	if err != nil {
		return "", err
	}
	if c.Name == n {
		return "", ErrSameName
	}
	nl, err := lockNames(runRoot)
	if err != nil {
		return "", err
	}
	defer nl.Unlock()
	if err := reserveLocked(root, runRoot, n, id); err != nil {
		return "", fmt.Errorf("Error when allocating new name: %w", err)
	}
	old := c.Name
	c.Name = n
	if err := Save(root, c); err != nil {
		releaseLocked(root, n, id)
		return "", err
	}
	if err := releaseLocked(root, old, id); err != nil {
		return old, fmt.Errorf("renamed to %s, but the old name %s stays reserved: %w", n, old, err)
	}
	return old, nil
}

// releaseLocked removes name's index entry if it points at id; the caller
// holds the name lock.
func releaseLocked(root, name, id string) error {
	if name == "" {
		return nil
	}
	p := filepath.Join(namesDir(root), name)
	b, err := os.ReadFile(p)
	if err != nil || strings.TrimSpace(string(b)) != id {
		return nil
	}
	if err := os.Remove(p); err != nil && !os.IsNotExist(err) {
		return fmt.Errorf("name index %s: %w", p, err)
	}
	return nil
}
