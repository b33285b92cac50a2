package registry

import (
	"log"
	"strconv"
)

func nilLogger() *log.Logger { return log.New(discard{}, "", 0) }

type discard struct{}

func (discard) Write(b []byte) (int, error) { return len(b), nil }

func fmtInt(n int) string { return strconv.Itoa(n) }
