package pull

import (
	"testing"
	"time"

	"github.com/calgate/calgate"
)

func TestCronSchedulesRunInTheWorkspacesTimeZone(t *testing.T) {
	berlin, _ := calgate.LoadZone("Europe/Berlin")
	p := &calgate.PullImport{Schedule: "0 6 * * *"}
	for _, c := range []struct{ now, want string }{
		{"2025-03-29T12:00:00Z", "2025-03-30T04:00:00Z"}, // the night the clocks go forward: 06:00 CEST
		{"2025-01-15T12:00:00Z", "2025-01-16T05:00:00Z"}, // winter: 06:00 CET
		{"2025-01-16T04:59:00Z", "2025-01-16T05:00:00Z"},
	} {
		now, _ := time.Parse(time.RFC3339, c.now)
		if got := nextRun(p, now, berlin).Format(time.RFC3339); got != c.want {
			t.Errorf("after %s: %s, want %s", c.now, got, c.want)
		}
	}
	if got := nextRun(p, time.Date(2025, 1, 15, 12, 0, 0, 0, time.UTC), time.UTC); !got.Equal(time.Date(2025, 1, 16, 6, 0, 0, 0, time.UTC)) {
		t.Errorf("UTC workspace: %s", got)
	}
}

func TestDatabasePullQueryIsADerivedTableAfterTheCursor(t *testing.T) {
	d := &calgate.PullDatabase{Engine: EnginePostgres, Query: "SELECT * FROM t", CursorColumn: "changed", MaxRows: 10}
	q, args, err := pullQuery(d, &calgate.PullCursor{Type: "int", Value: "40"})
	if err != nil || q != "SELECT * FROM (\nSELECT * FROM t\n) AS calgate_pull WHERE calgate_pull.\"changed\" > $1 ORDER BY calgate_pull.\"changed\" LIMIT 11" ||
		len(args) != 1 || args[0] != int64(40) {
		t.Fatalf("%q %v %v", q, args, err)
	}
	d.Engine, d.CursorColumn = EngineMySQL, ""
	if q, _, _ := pullQuery(d, nil); q != "SELECT * FROM (\nSELECT * FROM t\n) AS calgate_pull LIMIT 11" {
		t.Fatalf("%q", q)
	}
}
