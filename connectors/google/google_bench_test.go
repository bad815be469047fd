package google_test

import (
	"testing"

	"github.com/calgate/calgate"
	"github.com/calgate/calgate/connectors/connectorstest"
	"github.com/calgate/calgate/connectors/google/gcaltest"
)

// BenchmarkPush measures whole pushes (claim, read the entry, render it,
// insert the event through Google's client with its log, save the link)
// into a local Google Calendar with its quota off, on SQLite: one at a
// time, and from 8 goroutines.
func BenchmarkPush(b *testing.B) {
	connectorstest.BenchmarkPushes(b, func(b *testing.B) (*connectorstest.Harness, *calgate.Connector) {
		h, _, c := setup(b, "sqlite", gcaltest.Options{NoLimit: true}, "")
		return h, c
	})
}
