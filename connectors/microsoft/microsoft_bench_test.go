package microsoft_test

import (
	"testing"

	"github.com/calgate/calgate"
	"github.com/calgate/calgate/connectors/connectorstest"
	"github.com/calgate/calgate/connectors/microsoft/graphtest"
)

// BenchmarkPush measures whole pushes (claim, read the entry, render it,
// create the event through Graph with its log, save the link) into a local
// Microsoft 365 mailbox with its limits off, on SQLite: one at a time, and
// from 8 goroutines.
func BenchmarkPush(b *testing.B) {
	connectorstest.BenchmarkPushes(b, func(b *testing.B) (*connectorstest.Harness, *calgate.Connector) {
		h, _, c := setup(b, "sqlite", graphtest.Options{NoLimit: true}, "")
		return h, c
	})
}
